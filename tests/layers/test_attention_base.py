"""AttentionMechanism (kerasrnn.layers.attention_base): the masked softmax
shared by the attention layers."""

import numpy as np

from kerasrnn.layers.luong_attention import LuongAttention
from tests.helpers import QUERY
from tests.helpers import VALUE
from tests.helpers import VALUE_MASK


def test_fully_masked_row_gets_zero_weights():
    mask = VALUE_MASK.copy()
    mask[2] = False
    context, weights = LuongAttention("general")(QUERY, VALUE, value_mask=mask)
    assert np.all(np.asarray(weights)[2] == 0) and np.all(np.asarray(context)[2] == 0)
