"""kerasrnn.data.ids: the one definition of the reserved token ids."""

from kerasrnn.data import ids


def test_reserved_ids_and_tokens():
    assert (ids.PAD_ID, ids.START_ID, ids.END_ID, ids.OOV_ID) == (0, 1, 2, 3)
    assert ids.RESERVED_TOKENS == ("<pad>", "<s>", "</s>", "<unk>")
    assert ids.RESERVED_IDS == (0, 1, 2, 3)
    for token_id, token in zip(ids.RESERVED_IDS, ids.RESERVED_TOKENS):
        assert ids.RESERVED_TOKENS[token_id] == token
    assert ids.FIRST_TOKEN_ID == 4


def test_translation_and_seq2seq_use_the_same_ids():
    import kerasrnn.seq2seq as seq2seq
    from kerasrnn.data import translation
    from kerasrnn.seq2seq import search

    for name in ("PAD_ID", "START_ID", "END_ID", "OOV_ID"):
        assert getattr(translation, name) == getattr(seq2seq, name) == getattr(ids, name)
    assert (translation.PAD, translation.START, translation.END, translation.OOV) == ids.RESERVED_TOKENS
    vocab = translation.Vocabulary(["a", "b"], "char")
    assert vocab.tokens[: ids.FIRST_TOKEN_ID] == list(ids.RESERVED_TOKENS)
    assert vocab.tokens[ids.FIRST_TOKEN_ID] == "a"
    # The searches default to the same reserved ids.
    import inspect

    defaults = inspect.signature(search.greedy_search).parameters
    assert (defaults["start_id"].default, defaults["end_id"].default, defaults["pad_id"].default) == (1, 2, 0)
    assert seq2seq.MaskedTokenAccuracy().pad_id == ids.PAD_ID
