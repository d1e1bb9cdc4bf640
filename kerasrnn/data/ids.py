"""Reserved token ids of kerasrnn's token vocabularies (translation, seq2seq).

Every vocabulary built by `kerasrnn.data.translation` starts with four
reserved entries, and the sequence-to-sequence models and searches in
`kerasrnn.seq2seq` rely on the same ids:

====  ==========  ===========  =============================================
id    name        token        meaning
====  ==========  ===========  =============================================
0     `PAD_ID`    `<pad>`      padding; masked out of losses and attention
1     `START_ID`  `<s>`        first decoder input; never generated
2     `END_ID`    `</s>`       ends a source and a generated target
3     `OOV_ID`    `<unk>`      any token outside the vocabulary
====  ==========  ===========  =============================================

Ids from `FIRST_TOKEN_ID` on are the vocabulary's own tokens.

The character-level language-model vocabulary of `kerasrnn.data.text` has a
different layout (id 0 is its unknown character, `UNKNOWN_CHAR_ID`, and there
is no padding, start or end id); it does not use these constants.

This module has no imports, so both `kerasrnn.data` and `kerasrnn.seq2seq`
read the ids from here without loading each other.
"""

__all__ = [
    "END", "END_ID", "FIRST_TOKEN_ID", "OOV", "OOV_ID", "PAD", "PAD_ID",
    "RESERVED_IDS", "RESERVED_TOKENS", "START", "START_ID",
]

PAD_ID = 0
START_ID = 1
END_ID = 2
OOV_ID = 3

#: The reserved tokens' strings, as written in a vocabulary.
PAD, START, END, OOV = "<pad>", "<s>", "</s>", "<unk>"

#: Reserved tokens in id order: `RESERVED_TOKENS[PAD_ID] == PAD`, ...
RESERVED_TOKENS = (PAD, START, END, OOV)
RESERVED_IDS = (PAD_ID, START_ID, END_ID, OOV_ID)

#: The id of a vocabulary's first ordinary token.
FIRST_TOKEN_ID = len(RESERVED_TOKENS)
