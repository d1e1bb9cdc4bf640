"""SavedModel helpers shared by pipelines.

`CharGenerator` turns the layers of a trained character-level language model
into a `tf.Module` whose `generate` signature maps a prompt string to the
prompt plus generated text. The SavedModel it writes needs only TensorFlow to
load and run: no kerasrnn, no Keras custom objects.
"""

import os
import shutil

import tensorflow as tf

from kerasrnn.data.text import UNKNOWN_CHAR_ID
from kerasrnn.data.text import check_vocabulary
from kerasrnn.data.text import chars_to_ids
from kerasrnn.data.text import ids_to_text
from kerasrnn.data.text import lookup_table

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

    @tf.function(input_signature=[])
    def get_vocabulary(self):
        """The vocabulary as a `(size,)` string tensor (entry 0: OOV token)."""
        return self._vocabulary_tensor

    @tf.function(
        input_signature=[
            tf.TensorSpec([], tf.string, name="prompt"),
            tf.TensorSpec([], tf.int32, name="length"),
            tf.TensorSpec([], tf.float32, name="temperature"),
            tf.TensorSpec([], tf.int64, name="seed"),
        ]
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
