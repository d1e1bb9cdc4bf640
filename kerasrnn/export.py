"""Export: SavedModel helpers shared by pipelines, TFLite and ONNX files.

`CharGenerator` turns the layers of a trained character-level language model
into a `tf.Module` whose `generate` signature maps a prompt string to the
prompt plus generated text. The SavedModel it writes needs only TensorFlow to
load and run: no kerasrnn, no Keras custom objects.

`export_tflite` writes a model of kerasrnn recurrent layers as a TFLite
flatbuffer of builtin ops only (no Select TF ops), and `export_onnx` as an
ONNX model that onnxruntime runs; neither file needs kerasrnn to run. See
docs/export.md for what each format supports.
"""

import logging
import os
import shutil

import keras
import tensorflow as tf

from kerasrnn.data.text import UNKNOWN_CHAR_ID
from kerasrnn.data.text import check_vocabulary
from kerasrnn.data.text import chars_to_ids
from kerasrnn.data.text import ids_to_text
from kerasrnn.data.text import lookup_table
from kerasrnn.ops import export_loops
from kerasrnn.training.distribute import outside_strategy_scope
from kerasrnn.validation import ArgumentError
from kerasrnn.validation import InputError

_INT64_MAX = 2**63 - 1


def sample_logits(logits, temperature, seed, banned_ids=()):
    """Draws one id per row of `logits / temperature` (stateless, seeded).

    Args:
        logits: `(batch, vocabulary)` float tensor.
        temperature: Positive float scalar; lower is greedier.
        seed: int64 tensor of shape `(2,)` (`tf.random.stateless_categorical`).
        banned_ids: Ids that are never drawn (e.g. the OOV id).

    Returns:
        `(batch,)` int64 ids.
    """
    logits = tf.cast(logits, tf.float32) / temperature
    if banned_ids:
        size = tf.shape(logits)[-1]
        banned = tf.reduce_any(
            tf.equal(tf.range(size)[:, None], tf.constant(list(banned_ids), tf.int32)[None, :]), axis=1
        )
        logits = tf.where(banned[None, :], tf.constant(-1e30, logits.dtype), logits)
    return tf.random.stateless_categorical(logits, 1, seed=seed, dtype=tf.int64)[:, 0]


class CharGenerator(tf.Module):
    """Text generation from a character-level language model, for export.

    Wraps the layers of a model `ids -> embedding -> recurrent layers ->
    output logits`. `generate` feeds the whole prompt through the recurrent
    layers once (their fused sequence path, `return_state=True`), then
    produces one character per step with the layers' cells, carrying the
    recurrent states, so each new character costs one step, not a re-run of
    the prefix.

    Contract of `generate(prompt, length, temperature, seed)`:

    * returns `prompt` (unchanged) followed by exactly `length` generated
      characters (code points), as one UTF-8 `tf.string` scalar;
    * characters of the prompt outside the vocabulary are read as
      `UNKNOWN_CHAR_ID` (never an error), which is never generated;
    * an empty prompt starts from `start_token` (not part of the output);
    * `temperature` must be > 0 (1 samples the model's distribution, lower
      values are greedier) and `length` >= 0, else `InvalidArgumentError`;
    * `seed >= 0` makes the output reproducible (stateless sampling, seed
      `(seed, step)`); `seed < 0` draws a fresh seed per call.

    Args:
        vocabulary: List of characters, entry 0 the OOV token (see
            `kerasrnn.data.text.build_vocabulary`); ids index this list.
        embedding: Layer mapping `(batch, time)` ids to vectors.
        recurrent_layers: A `keras.layers.RNN` subclass instance (kerasrnn or
            Keras `LSTM`/`GRU`/`SimpleRNN`) or a list of them, applied in
            order, each built with `return_sequences=True` and
            `return_state=True`, not `go_backwards` or `stateful`.
        output_layer: Layer mapping `(batch, units)` to `(batch, vocabulary)`
            logits.
        start_token: Character fed first when the prompt is empty; the most
            common choice is the separator of the training documents.
        name: Module name.

    Example:

    >>> generator = CharGenerator(vocabulary, embedding, [lstm], dense)
    >>> generator.save("export")
    >>> loaded = tf.saved_model.load("export")
    >>> loaded.generate(tf.constant("The "), 100, 0.8, tf.constant(1, tf.int64))
    """

    def __init__(self, vocabulary, embedding, recurrent_layers, output_layer, start_token="\n", name=None):
        super().__init__(name=name)
        vocabulary = check_vocabulary(vocabulary)
        if not isinstance(recurrent_layers, (list, tuple)):
            recurrent_layers = [recurrent_layers]
        if not recurrent_layers:
            raise ValueError("`recurrent_layers` must hold at least one recurrent layer.")
        for layer in recurrent_layers:
            _check_recurrent_layer(layer)
        self.vocabulary = list(vocabulary)
        self._vocabulary_tensor = tf.constant(self.vocabulary, dtype=tf.string)
        self._table = lookup_table(self.vocabulary)
        self.start_id = self.vocabulary.index(start_token) if start_token in self.vocabulary[1:] else 1
        self.embedding = embedding
        self.recurrent_layers = list(recurrent_layers)
        self.output_layer = output_layer

    @tf.function(input_signature=[], autograph=False)
    def get_vocabulary(self):
        """The vocabulary as a `(size,)` string tensor (entry 0: OOV token)."""
        return self._vocabulary_tensor

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ],
        autograph=False,  # explicit tf.cond / tf.while_loop: nothing to convert
    )
    def generate(self, prompt, length, temperature, seed):
        """`prompt` followed by `length` sampled characters (see class doc)."""
        checks = [
            tf.debugging.assert_greater(
                temperature, 0.0, message="`temperature` must be > 0"
            ),
            tf.debugging.assert_non_negative(length, message="`length` must be >= 0"),
        ]
        with tf.control_dependencies(checks):
            # Everything downstream reads these, so nothing runs before the checks.
            length = tf.identity(length)
            temperature = tf.identity(temperature)
            ids = chars_to_ids(prompt, self._table)
        ids = tf.cond(
            tf.size(ids) > 0, lambda: ids, lambda: tf.constant([self.start_id], tf.int64)
        )
        seed = tf.cond(
            seed < 0,
            lambda: tf.random.uniform([], 0, _INT64_MAX, dtype=tf.int64),
            lambda: seed,
        )
        x = self.embedding(ids[None, :])
        states = []
        for layer in self.recurrent_layers:
            x, *layer_states = layer(x, training=False)
            states.append(list(layer_states))
        logits = self.output_layer(x[:, -1])

        def step(t, logits, states, generated):
            next_id = sample_logits(logits, temperature, tf.stack([seed, tf.cast(t, tf.int64)]), (UNKNOWN_CHAR_ID,))
            generated = generated.write(t, next_id[0])
            x = self.embedding(next_id)
            new_states = []
            for layer, layer_states in zip(self.recurrent_layers, states):
                x, layer_states = layer.cell(x, layer_states, training=False)
                new_states.append(list(layer_states))
            return t + 1, self.output_layer(x), new_states, generated

        generated = tf.TensorArray(tf.int64, size=length, element_shape=[])
        _, _, _, generated = tf.while_loop(
            lambda t, *_: t < length,
            step,
            (tf.constant(0), logits, states, generated),
        )
        return prompt + ids_to_text(generated.stack(), self._vocabulary_tensor)

    def save(self, export_dir, overwrite=True):
        """Writes the SavedModel (`generate` is also `serving_default`).

        An existing SavedModel directory at `export_dir` is replaced when
        `overwrite`; any other existing path is an error.
        """
        write_saved_model(self, export_dir, {"serving_default": self.generate}, overwrite)
        return export_dir


@outside_strategy_scope()
def write_saved_model(module, export_dir, signatures=None, overwrite=True):
    """`tf.saved_model.save` that refuses to clobber a non-SavedModel path.

    Args:
        module: A `tf.Module`.
        export_dir: Target directory.
        signatures: Optional dict of name -> `tf.function` (with an input
            signature) exported as serving signatures.
        overwrite: Replace an existing SavedModel at `export_dir`.
    """
    if os.path.exists(export_dir):
        is_saved_model = os.path.isfile(os.path.join(export_dir, "saved_model.pb"))
        if not (overwrite and is_saved_model):
            raise ValueError(
                f"`export_dir` already exists and is not a SavedModel to replace: {export_dir!r}"
            )
        shutil.rmtree(export_dir)
    if signatures:
        signatures = {k: f.get_concrete_function() for k, f in signatures.items()}
    tf.saved_model.save(module, export_dir, signatures=signatures)
    return export_dir


def _check_recurrent_layer(layer):
    name = getattr(layer, "name", type(layer).__name__)
    if not hasattr(layer, "cell"):
        raise ValueError(
            f"`recurrent_layers` must be recurrent layers with a `cell` (keras.layers.RNN "
            f"subclasses). Received: {type(layer).__name__}"
        )
    wrong = [
        f"{attr}={getattr(layer, attr)}"
        for attr, wanted in (("return_sequences", True), ("return_state", True), ("go_backwards", False),
                             ("stateful", False))
        if bool(getattr(layer, attr, wanted)) != wanted
    ]
    if wrong:
        raise ValueError(
            f"Recurrent layer {name!r} must be built with return_sequences=True, "
            f"return_state=True, go_backwards=False, stateful=False. Received: {', '.join(wrong)}"
        )


# ---------------------------------------------------------------------------
# TFLite and ONNX: whole models of kerasrnn layers, for inference.


def export_tflite(model, filepath, input_signature=None):
    """Writes `model`'s inference pass as a TFLite flatbuffer of builtin ops only.

    kerasrnn's loops are traced in the form TFLite's builtins express
    (`kerasrnn.ops.export_loops("tflite")`: `WHILE`, `GATHER`,
    `DYNAMIC_UPDATE_SLICE`), so the model needs no Select TF ops (no Flex
    delegate) and keeps the dynamic batch and time dimensions of its inputs.
    The converter is run with `TFLITE_BUILTINS` only, and the file is
    written only after its operators are checked to all be builtins.

    Supported: kerasrnn's `LSTM` (peepholes too), `GRU` (`reset_after` both
    ways), `SimpleRNN`, `IRNN`, `LayerNormLSTM`, `MinGRU`, `MinLSTM`, `LRU`,
    `RGLRU`, `HawkBlock` and `DeepRNN` (fast path), alone or in
    `keras.layers.Bidirectional`, stacked, with `return_sequences` either
    way, `go_backwards`, `unroll`, and masks (`Masking`, `Embedding(...,
    mask_zero=True)`). Stateful layers are refused. Keras's own recurrent
    layers (and kerasrnn layers with `fast_path=False`, which run Keras's
    loop) convert only with a fixed batch size; the error says so.

    Args:
        model: A built `keras.Model` (TensorFlow backend).
        filepath: Path of the `.tflite` file to write; its directory must
            exist. An existing file is replaced.
        input_signature: Optional list of `tf.TensorSpec`s or
            `keras.InputSpec`s (with dtype), one per positional input of
            `model.__call__`; by default the model's own inputs (`None`
            dimensions stay dynamic). Give a fixed shape to specialise.

    Returns:
        `filepath`.

    Raises:
        ValueError: (`kerasrnn.validation.InputError`) for a model, layer,
            option or path that cannot be exported, naming it.

    Example:

    >>> model = keras.Sequential([keras.Input((None, 8)), kerasrnn.layers.LSTM(16),
    ...                           keras.layers.Dense(2)])
    >>> export_tflite(model, "model.tflite")
    >>> interpreter = tf.lite.Interpreter("model.tflite")
    """
    # The function is frozen first: the weights become constants that the
    # converter folds into its builtin ops (FULLY_CONNECTED...). Given the
    # unfrozen function, TFLite 2.21 keeps them as resource variables
    # (VAR_HANDLE) that its interpreter does not initialise. Public TF has no
    # other freezing API for a TF2 function.
    from tensorflow.lite.python.convert_phase import ConverterError
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    filepath = _check_export_args(model, filepath, ".tflite", "export_tflite")
    function = _inference_function(model, _input_signature(model, input_signature))
    with export_loops("tflite"):
        concrete = function.get_concrete_function()
    converter = tf.lite.TFLiteConverter.from_concrete_functions(
        [convert_variables_to_constants_v2(concrete)]
    )
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    try:
        content = converter.convert()
    except ConverterError as error:
        raise InputError(_tflite_failure(model, str(error))) from error
    other = [op for op in tflite_operators(content) if not _is_builtin(op)]
    if other:
        raise InputError(
            f"The TFLite model of {model.name!r} needs operators that are not TFLite builtins: "
            f"{', '.join(other)}."
        )
    _write_atomically(filepath, content)
    return filepath


def run_tflite(path, inputs):
    """Runs the one-input TFLite model at `path` on `inputs` (a NumPy array,
    any batch and length the model allows) with TensorFlow's interpreter; its
    first output as a NumPy array."""
    interpreter = tf.lite.Interpreter(model_path=path)
    detail = interpreter.get_input_details()[0]
    interpreter.resize_tensor_input(detail["index"], inputs.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(detail["index"], inputs)
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])


def tflite_operators(model_content):
    """The sorted names of the operators in a TFLite flatbuffer (all subgraphs).

    Builtin operators have upper-case names (`WHILE`, `FULLY_CONNECTED`);
    Select TF ops appear as `Flex...` and custom ops by their own names.

    Args:
        model_content: The flatbuffer, as `bytes`.
    """
    import contextlib
    import io
    import re

    report = io.StringIO()
    with contextlib.redirect_stdout(report):
        tf.lite.experimental.Analyzer.analyze(model_content=model_content)
    return sorted(set(re.findall(r"^\s*Op#\d+ (\S+?)\(", report.getvalue(), flags=re.MULTILINE)))


def export_onnx(model, filepath, input_signature=None, opset_version=None):
    """Writes `model`'s inference pass as an ONNX model (via tf2onnx).

    Converts with tf2onnx, as Keras's `model.export(filepath,
    format="onnx")` does on TensorFlow, with kerasrnn's loops traced in the
    form tf2onnx reads
    (`kerasrnn.ops.export_loops("onnx")`: each becomes an ONNX `Loop` with
    scan outputs), keeping the dynamic batch and time dimensions of the
    inputs. Unlike tf2onnx on its own, a node it fails to convert is an
    error rather than a broken file: the model is written only once tf2onnx
    reported no failure and `onnx.checker` (full check) accepts it.

    Supported: kerasrnn's `LSTM` (peepholes too), `GRU` (`reset_after` both
    ways), `SimpleRNN`, `IRNN`, `LayerNormLSTM`, `MinGRU`, `MinLSTM`, `LRU`,
    `DeepRNN` and `keras.layers.RNN` around kerasrnn cells, alone or in
    `keras.layers.Bidirectional`, stacked, with `return_sequences` either
    way, `go_backwards`, `unroll`, and masks. Stateful layers are refused;
    `RGLRU` and `HawkBlock` fail (tf2onnx has no `Expm1`), naming the layer.
    Needs the `export` extra (`pip install kerasrnn[export]`: tf2onnx, onnx,
    and onnxruntime to run the result).

    Args:
        model: A built `keras.Model` (TensorFlow backend, float32 policy).
        filepath: Path of the `.onnx` file to write; its directory must
            exist. An existing file is replaced.
        input_signature: Optional, as for `export_tflite`; by default the
            model's own inputs.
        opset_version: Optional ONNX opset (tf2onnx's default otherwise).

    Returns:
        `filepath`.

    Raises:
        ValueError: (`kerasrnn.validation.InputError`) for a model, layer,
            option or path that cannot be exported, naming it.
        ImportError: when tf2onnx or onnx is not installed.

    Example:

    >>> export_onnx(model, "model.onnx")
    >>> session = onnxruntime.InferenceSession("model.onnx")
    >>> session.run(None, {session.get_inputs()[0].name: x})
    """
    import tempfile

    filepath = _check_export_args(model, filepath, ".onnx", "export_onnx")
    signature = _input_signature(model, input_signature)
    try:
        import onnx
        import onnx.checker
        import onnx.shape_inference
        import tf2onnx
    except ImportError as error:
        raise ImportError(
            "`export_onnx` needs tf2onnx and onnx: pip install 'kerasrnn[export]'"
        ) from error
    function = _inference_function(model, signature)
    failures = _LogRecords(logging.ERROR)
    logger = logging.getLogger("tf2onnx")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.onnx")
        logger.addHandler(failures)
        try:
            # tf2onnx traces `function` itself: inside the context.
            with export_loops("onnx"):
                tf2onnx.convert.from_function(
                    function, signature, opset=opset_version, output_path=path
                )
        finally:
            logger.removeHandler(failures)
        problems = [r.getMessage() for r in failures.records if "Failed to convert node" in r.getMessage()]
        if not problems:
            try:
                onnx.checker.check_model(path, full_check=True)
            except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as error:
                problems = [str(error).strip()]
        if problems:
            raise InputError(_onnx_failure(model, problems))
        with open(path, "rb") as f:
            content = f.read()
    _write_atomically(filepath, content)
    return filepath


class _LogRecords(logging.Handler):
    """Keeps the records logged to it (tf2onnx reports a node it cannot
    convert only as a logged error, then writes the model anyway)."""

    def __init__(self, level):
        super().__init__(level)
        self.records = []

    def emit(self, record):
        self.records.append(record)


def _check_export_args(model, filepath, suffix, function):
    """Checks what `export_tflite`/`export_onnx` receive before anything
    is converted or written; returns `filepath` as a string."""
    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise InputError(
            f"`{function}` needs the TensorFlow backend of Keras (KERAS_BACKEND=tensorflow). "
            f"Received: backend={backend}"
        )
    if not isinstance(model, keras.Model):
        raise ArgumentError("model", model, "a keras.Model")
    if not model.built:
        raise InputError(f"`model` must be built (called once, or made with keras.Input) before `{function}`.")
    if not isinstance(filepath, (str, os.PathLike)):
        raise ArgumentError("filepath", filepath, f"a path ending in {suffix!r}")
    filepath = os.fspath(filepath)
    if not filepath.endswith(suffix):
        raise ArgumentError("filepath", filepath, f"a path ending in {suffix!r}")
    directory = os.path.dirname(os.path.abspath(filepath))
    if not os.path.isdir(directory):
        raise ArgumentError("filepath", filepath, "in an existing directory")
    if os.path.isdir(filepath) or not os.access(directory, os.W_OK):
        raise ArgumentError("filepath", filepath, "a writable file path")
    for layer in _all_layers(model):
        if isinstance(layer, keras.layers.RNN) and layer.stateful:
            raise InputError(
                f"Layer {layer.name!r} ({type(layer).__name__}) is stateful; an exported model cannot "
                "carry its states from one call to the next. Export a copy built with stateful=False "
                "(the same weights); pass states in as inputs (initial_state) where they matter."
            )
    return filepath


def _input_signature(model, input_signature):
    """One spec per positional argument of `model.__call__`."""
    if input_signature is not None:
        return list(input_signature) if isinstance(input_signature, (list, tuple)) else [input_signature]
    try:
        inputs = model.inputs
    except (AttributeError, ValueError):
        inputs = None
    if not inputs:
        raise InputError(
            f"Model {model.name!r} has no symbolic inputs (a subclassed model): pass "
            "`input_signature`, e.g. [tf.TensorSpec((None, None, features), tf.float32)]."
        )
    specs = [tf.TensorSpec(tuple(t.shape), t.dtype) for t in inputs]
    return specs if len(specs) == 1 else [specs]


def _inference_function(model, signature):
    """`model(..., training=False)` as a `tf.function` of `signature`."""
    return tf.function(
        lambda *inputs: model(*inputs, training=False), input_signature=signature, autograph=False
    )


def _all_layers(model):
    return model._flatten_layers(include_self=False, recursive=True)


def _layers_named_in(model, text):
    """The model's layers whose name scope appears in an op name of `text`
    (`model/lstm_1/while/...` for a layer `lstm`)."""
    import re

    return [
        layer for layer in _all_layers(model)
        if re.search(rf"(^|/){re.escape(layer.name)}(_\d+)?/", text, flags=re.MULTILINE)
    ]


def _runs_keras_loop(layer):
    """Whether a recurrent layer runs Keras's loop (TensorArrays that TFLite
    lowers to builtins only with a static batch) instead of kerasrnn's."""
    from kerasrnn.layers import DeepRNN
    from kerasrnn.layers import RecurrentLayer

    if isinstance(layer, (RecurrentLayer, DeepRNN)):
        return not layer.fast_path
    return isinstance(layer, keras.layers.RNN)


def _tflite_failure(model, message):
    keras_loops = [layer for layer in _all_layers(model) if _runs_keras_loop(layer)]
    if keras_loops and ("TensorList" in message or "tensor list" in message):
        names = ", ".join(f"{layer.name!r} ({type(layer).__name__})" for layer in keras_loops)
        return (
            f"TFLite's builtin ops cannot express the recurrent loop of {names}: it runs Keras's "
            "loop, whose TensorArrays TFLite lowers to builtins only with a fixed batch size. Use "
            "kerasrnn's layers with fast_path=True (kerasrnn.layers.LSTM/GRU/SimpleRNN are drop-in "
            "replacements for Keras's), or pass an `input_signature` with a fixed batch size."
        )
    errors = [line.strip() for line in message.splitlines() if "error:" in line]
    blamed = ", ".join(repr(layer.name) for layer in _layers_named_in(model, message))
    return (
        f"TFLite's converter cannot express model {model.name!r} with builtin ops"
        + (f" (layers {blamed})" if blamed else "")
        + ": " + "; ".join(dict.fromkeys(e.split("error:", 1)[1].strip() for e in errors[:4]) or [message[-500:]])
    )


def _onnx_failure(model, problems):
    text = "\n".join(problems)
    blamed = ", ".join(repr(layer.name) for layer in _layers_named_in(model, text))
    return (
        f"tf2onnx cannot convert model {model.name!r} to a valid ONNX model"
        + (f" (layers {blamed})" if blamed else "")
        + ": " + problems[0][:600]
    )


def _is_builtin(op):
    import re

    return re.fullmatch(r"[A-Z][A-Z0-9_]*", op) is not None


def _write_atomically(filepath, content):
    partial = filepath + ".partial"
    with open(partial, "wb") as f:
        f.write(content)
    os.replace(partial, filepath)
