"""kerasrnn.validation: messages name the argument and the value; numpy
integers are accepted, booleans rejected."""

import math
import pickle
import re

import numpy as np
import pytest

from kerasrnn import validation as V


@pytest.mark.parametrize("check, name, value, requirement", [
    (V.check_positive_int, "units", 0, "a positive integer"),
    (V.check_positive_int, "units", -3, "a positive integer"),
    (V.check_positive_int, "units", 2.5, "a positive integer"),
    (V.check_positive_int, "units", "4", "a positive integer"),
    (V.check_positive_int, "units", None, "a positive integer"),
    (V.check_non_negative_int, "shift", -1, "a non-negative integer"),
    (V.check_positive_number, "temperature", 0, "a positive number"),
    (V.check_positive_number, "temperature", -0.5, "a positive number"),
    (V.check_positive_number, "temperature", math.inf, "a positive number"),
    (V.check_positive_number, "temperature", math.nan, "a positive number"),
    (V.check_non_negative_number, "length_penalty", -1.0, "a non-negative number"),
    (V.check_number, "recurrent_gain", "one", "a finite number"),
    (V.check_rate, "dropout", 1.0, "a float in [0, 1)"),
    (V.check_rate, "dropout", -0.1, "a float in [0, 1)"),
    (V.check_probability, "p", 1.5, "a float in [0, 1]"),
    (V.check_fraction, "validation_fraction", 0, "a float in (0, 1)"),
    (V.check_bool, "fast_path", "yes", "a boolean"),
    (V.check_bool, "fast_path", 1, "a boolean"),
    (V.check_positive_int_tuple, "input_units", (4, 0), "a tuple of positive integers"),
])
def test_messages_name_argument_requirement_and_value(check, name, value, requirement):
    with pytest.raises(ValueError) as info:
        check(name, value)
    expected = f"`{name}` must be {requirement}. Received: {name}={value!r}"
    assert str(info.value) == expected
    error = info.value
    assert isinstance(error, V.ArgumentError)
    assert (error.argument, error.requirement) == (name, requirement)
    assert error.value is value or (isinstance(value, float) and math.isnan(value))


def test_keras_style_message_for_units():
    with pytest.raises(ValueError, match=re.escape("`units` must be a positive integer. Received: units=0")):
        V.check_positive_int("units", 0)


@pytest.mark.parametrize("value", [4, np.int64(4), np.int32(4), np.uint8(4)])
def test_numpy_integers_are_accepted_and_returned_as_int(value):
    for check in (V.check_positive_int, V.check_non_negative_int):
        result = check("units", value)
        assert result == 4 and type(result) is int
    assert type(V.check_int("n", value, minimum=1, maximum=4)) is int
    assert V.check_positive_int_tuple("sizes", [value, 2]) == (4, 2)


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_booleans_are_not_numbers(value):
    for check in (V.check_positive_int, V.check_non_negative_int, V.check_number,
                  V.check_positive_number, V.check_rate, V.check_probability):
        with pytest.raises(V.ArgumentError, match=re.escape(f"Received: x={value!r}")):
            check("x", value)
    assert not V.is_int(value)


def test_valid_values_come_back_as_plain_python_types():
    assert V.check_positive_number("temperature", np.float32(0.5)) == 0.5
    assert type(V.check_positive_number("temperature", 2)) is float
    assert V.check_non_negative_number("length_penalty", 0) == 0.0
    assert V.check_rate("dropout", 0) == 0.0 and V.check_rate("dropout", np.float64(0.25)) == 0.25
    assert V.check_probability("p", 1) == 1.0
    assert V.check_fraction("f", 0.1) == 0.1
    assert V.check_bool("flag", np.bool_(False)) is False
    assert V.check_positive_int_tuple("sizes", None) == ()
    assert V.check_positive_int_tuple("sizes", 3) == (3,)
    assert V.check_int("shift_range", 0, minimum=0) == 0


def test_check_int_bounds_in_message():
    with pytest.raises(V.ArgumentError, match=re.escape("`n` must be an integer >= 2. Received: n=1")):
        V.check_int("n", 1, minimum=2)
    with pytest.raises(V.ArgumentError, match=re.escape("`n` must be an integer in [0, 3]. Received: n=4")):
        V.check_int("n", 4, minimum=0, maximum=3)
    with pytest.raises(V.ArgumentError, match=re.escape("`n` must be an integer <= 3. Received: n=4")):
        V.check_int("n", 4, maximum=3)


def test_check_choice_lists_the_choices():
    assert V.check_choice("level", "word", ("char", "word")) == "word"
    with pytest.raises(V.ArgumentError,
                       match=re.escape("`level` must be one of 'char', 'word'. Received: level='line'")):
        V.check_choice("level", "line", ("char", "word"))
    with pytest.raises(V.ArgumentError, match="level"):
        V.check_choice("level", ["char"], ("char", "word"))  # unhashable
    with pytest.raises(V.ArgumentError, match="level"):
        V.check_choice("level", np.array([1, 2]), (1, 2))  # element-wise ==


def test_command_line_names():
    # A command line can name the option directly or rename a caught error.
    with pytest.raises(V.ArgumentError, match=re.escape("`--units` must be a positive integer. Received: --units=0")):
        V.check_positive_int("--units", 0)
    try:
        V.check_positive_int("units", 0)
    except V.ArgumentError as error:
        renamed = error.renamed("--units")
    assert str(renamed) == "`--units` must be a positive integer. Received: --units=0"
    assert (renamed.argument, renamed.value, renamed.requirement) == ("--units", 0, "a positive integer")
    copy = pickle.loads(pickle.dumps(renamed))  # survives multiprocessing
    assert str(copy) == str(renamed) and copy.argument == "--units"


def test_validation_imports_no_heavy_modules():
    # A command line validates its options before TensorFlow loads, so the
    # module must not import numpy, TensorFlow or Keras. Load the file alone,
    # not through the kerasrnn package (whose __init__ loads Keras).
    import pathlib
    import subprocess
    import sys

    code = ("import importlib.util, sys; "
            "spec = importlib.util.spec_from_file_location('validation', 'kerasrnn/validation.py'); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "m.check_positive_int('u', 1); "
            "print(sorted(n for n in ('numpy', 'tensorflow', 'keras') if n in sys.modules))")
    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
