"""One tokenizer for gensim and for `keras.layers.TextVectorization`.

Word vectors only help a Keras model if both sides cut text into the same
tokens. kerasrnn uses Keras's built-in settings,
`standardize="lower_and_strip_punctuation"` and `split="whitespace"` (they
save and load with any model, no custom objects), and reproduces them exactly
in Python for gensim:

* lower-casing is ASCII-only (`tf.strings.lower` without an encoding leaves
  `É` and `ß` alone; Python's `str.lower` would not);
* the punctuation removed is Keras's regular expression, character for
  character (`,-\\.` is a range: `,` `-` `.`); other characters such as `—`
  or `é` stay;
* splitting is on runs of ASCII whitespace only (space, `\\t \\n \\v \\f \\r`,
  as `tf.strings.split`); a no-break space does not split.

`tests/embeddings/test_tokenize.py` checks, on awkward text, that `tokenize`
returns the tokens a `TextVectorization` layer produces.
"""

import os
import re
import string

#: The `standardize` and `split` arguments of every kerasrnn TextVectorization.
STANDARDIZE = "lower_and_strip_punctuation"
SPLIT = "whitespace"

#: Keras's punctuation pattern (keras/src/layers/preprocessing/text_vectorization.py).
PUNCTUATION = r'[!"#$%&()\*\+,-\./:;<=>?@\[\\\]^_`{|}~\']'

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_PUNCTUATION = re.compile(PUNCTUATION)
_WHITESPACE = re.compile(r"[ \t\n\v\f\r]+")


def standardize(text):
    """ASCII lower-case and strip punctuation, as `TextVectorization` does."""
    return _PUNCTUATION.sub("", text.translate(_ASCII_LOWER))


def split(text):
    """Splits on runs of ASCII whitespace, dropping empty strings."""
    return [token for token in _WHITESPACE.split(text) if token]


def tokenize(text):
    """`split(standardize(text))`: the tokens `text_vectorization()` sees."""
    return split(standardize(text))


def text_vectorization(**kwargs):
    """A `keras.layers.TextVectorization` with kerasrnn's tokenizer settings.

    Keyword arguments other than `standardize` and `split` are passed on
    (`max_tokens`, `output_sequence_length`, `vocabulary`, ...).
    """
    import keras

    for name in ("standardize", "split"):
        if name in kwargs:
            raise ValueError(
                f"`{name}` is fixed by kerasrnn's shared tokenizer. Received: {name}={kwargs[name]!r}"
            )
    return keras.layers.TextVectorization(standardize=STANDARDIZE, split=SPLIT, **kwargs)


def read_lines(path, encoding="utf-8"):
    """Returns the lines of a text file, with a clear error for a bad encoding.

    Raises:
        FileNotFoundError: `path` does not exist.
        ValueError: the file is not valid `encoding` (the message names the
            file, the encoding, the byte offset and how to pass another one).
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"Text file not found. Received: path={path!r}")
    with open(path, "rb") as f:
        data = f.read()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        raise ValueError(
            f"{path!r} is not valid {encoding}: byte {data[error.start:error.start + 1]!r} at "
            f"offset {error.start} ({error.reason}). Pass the file's encoding, e.g. "
            f"encoding='cp1252' (`--encoding cp1252` on the command line)."
        ) from None
    except LookupError:
        raise ValueError(f"Unknown text encoding. Received: encoding={encoding!r}") from None
    return text.splitlines()
