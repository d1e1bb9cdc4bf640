"""Argument checks shared by kerasrnn's layers, models, data helpers and pipelines.

Every check raises `ArgumentError` (a `ValueError`) with a message in Keras's
style, naming the argument and the value received:

>>> check_positive_int("units", 0)
Traceback (most recent call last):
...
kerasrnn.validation.ArgumentError: `units` must be a positive integer. Received: units=0

and returns the value in a plain Python type (numpy integers become `int`,
numpy floats `float`), so that it can go into a layer's config or a JSON file
as is. Integers may be Python or numpy integers; booleans are rejected
wherever a number is expected (`True` is not a size).

A command-line front end can pass the option's spelling as the name
(`check_positive_int("--units", args.units)`), or catch the error and name its
option with `error.renamed("--units")`; `error.argument`, `error.value` and
`error.requirement` hold the parts of the message.

This module imports only the standard library, so it is cheap to import
before TensorFlow (e.g. to validate a command line).
"""

import math
import numbers

__all__ = [
    "ArgumentError",
    "InputError",
    "check_bool",
    "check_choice",
    "check_fraction",
    "check_int",
    "check_non_negative_int",
    "check_non_negative_number",
    "check_number",
    "check_positive_int",
    "check_positive_int_tuple",
    "check_positive_number",
    "check_probability",
    "check_rate",
    "is_int",
]


class InputError(ValueError):
    """Bad input from the user: an argument, an option, a file, a data set or
    a backup that cannot be used as given. The `kerasrnn` command prints its
    message as one `error:` line and exits with status 2; any other exception
    is a bug and keeps its traceback."""


class ArgumentError(InputError):
    """A rejected argument: `` `argument` must be requirement. Received: argument=value ``.

    Attributes:
        argument: The argument's name as given to the check (e.g. `"units"` or
            `"--units"`).
        value: The value received.
        requirement: What the value must be (e.g. `"a positive integer"`).
    """

    def __init__(self, argument, value, requirement):
        self.argument = argument
        self.value = value
        self.requirement = requirement
        super().__init__(f"`{argument}` must be {requirement}. Received: {argument}={value!r}")

    def renamed(self, argument):
        """The same error naming `argument` instead (e.g. a command-line option)."""
        return ArgumentError(argument, self.value, self.requirement)

    def __reduce__(self):
        return type(self), (self.argument, self.value, self.requirement)


def is_int(value):
    """Whether `value` is a Python or numpy integer and not a boolean."""
    return isinstance(value, numbers.Integral) and not _is_bool(value)


def _is_bool(value):
    # numpy.bool_ is not a numbers.Integral, but test by name so that this
    # module needs no numpy import.
    return isinstance(value, bool) or type(value).__name__ in ("bool_", "bool")


def _is_real(value):
    return isinstance(value, numbers.Real) and not _is_bool(value)


def check_int(name, value, minimum=None, maximum=None):
    """An integer in `[minimum, maximum]` (either bound optional); returns `int`."""
    if minimum is not None and maximum is not None:
        requirement = f"an integer in [{minimum}, {maximum}]"
    elif minimum is not None:
        requirement = f"an integer >= {minimum}"
    elif maximum is not None:
        requirement = f"an integer <= {maximum}"
    else:
        requirement = "an integer"
    if not is_int(value) or (minimum is not None and value < minimum) \
            or (maximum is not None and value > maximum):
        raise ArgumentError(name, value, requirement)
    return int(value)


def check_positive_int(name, value):
    """An integer >= 1 (a size, a count); returns `int`."""
    if not is_int(value) or value < 1:
        raise ArgumentError(name, value, "a positive integer")
    return int(value)


def check_non_negative_int(name, value):
    """An integer >= 0; returns `int`."""
    if not is_int(value) or value < 0:
        raise ArgumentError(name, value, "a non-negative integer")
    return int(value)


def check_positive_int_tuple(name, value, allow_none=True):
    """One positive integer or a list/tuple of them; returns a tuple
    (`()` for `None` when `allow_none`)."""
    if value is None and allow_none:
        return ()
    values = tuple(value) if isinstance(value, (list, tuple)) else (value,)
    if any(not is_int(v) or v < 1 for v in values):
        raise ArgumentError(name, value, "a tuple of positive integers")
    return tuple(int(v) for v in values)


def check_number(name, value):
    """A finite real number; returns `float`."""
    if not _is_real(value) or not math.isfinite(value):
        raise ArgumentError(name, value, "a finite number")
    return float(value)


def check_positive_number(name, value):
    """A finite number > 0 (a temperature, a clipping bound); returns `float`."""
    if not _is_real(value) or not math.isfinite(value) or not value > 0:
        raise ArgumentError(name, value, "a positive number")
    return float(value)


def check_non_negative_number(name, value):
    """A finite number >= 0; returns `float`."""
    if not _is_real(value) or not math.isfinite(value) or not value >= 0:
        raise ArgumentError(name, value, "a non-negative number")
    return float(value)


def check_rate(name, value):
    """A dropout-style rate in `[0, 1)` (1 would drop everything); returns `float`."""
    if not _is_real(value) or not 0.0 <= value < 1.0:
        raise ArgumentError(name, value, "a float in [0, 1)")
    return float(value)


def check_probability(name, value):
    """A probability in `[0, 1]`; returns `float`."""
    if not _is_real(value) or not 0.0 <= value <= 1.0:
        raise ArgumentError(name, value, "a float in [0, 1]")
    return float(value)


def check_fraction(name, value):
    """A fraction strictly inside `(0, 1)` (e.g. a held-out share); returns `float`."""
    if not _is_real(value) or not 0.0 < value < 1.0:
        raise ArgumentError(name, value, "a float in (0, 1)")
    return float(value)


def check_bool(name, value):
    """A Python or numpy boolean; returns `bool`."""
    if not _is_bool(value):
        raise ArgumentError(name, value, "a boolean")
    return bool(value)


def check_choice(name, value, choices):
    """One of `choices` (compared with `==`); returns `value`."""
    choices = tuple(choices)
    try:
        found = value in choices
    except (TypeError, ValueError):  # e.g. an array, whose `==` is element-wise
        found = False
    if not found:
        raise ArgumentError(name, value, f"one of {', '.join(repr(c) for c in choices)}")
    return value

