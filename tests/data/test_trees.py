"""Expression trees: generation, evaluation, arrays, and validation errors."""

import random

import numpy as np
import pytest

from kerasrnn.data.trees import OPERATORS
from kerasrnn.data.trees import evaluate
from kerasrnn.data.trees import expression_depth
from kerasrnn.data.trees import generate_expressions
from kerasrnn.data.trees import pad_trees
from kerasrnn.data.trees import random_expression
from kerasrnn.data.trees import to_arrays
from kerasrnn.data.trees import to_infix
from kerasrnn.data.trees import tokens_to_string
from kerasrnn.data.trees import tree_depths
from kerasrnn.data.trees import validate_trees


def _eval_arrays(tokens, left, right, i=0):
    """Recursive evaluation of one tree from its arrays (reference)."""
    t = int(tokens[i])
    if left[i] < 0:
        return t - 1
    op = {v: k for k, v in OPERATORS.items()}[t]
    a, b = _eval_arrays(tokens, left, right, left[i]), _eval_arrays(tokens, left, right, right[i])
    return eval(f"({a}) {op} ({b})") % 10


def test_evaluate_and_strings():
    e = ("*", ("+", 7, 8), ("-", 2, 9))
    assert evaluate(e) == (15 * -7) % 10 == 5
    assert expression_depth(e) == 2 and expression_depth(3) == 0
    assert to_infix(e) == "((7 + 8) * (2 - 9))"
    tokens, left, right = to_arrays(e)
    assert tokens_to_string(tokens) == "* + 7 8 - 2 9"  # preorder = prefix notation
    assert left == [1, 2, -1, -1, 5, -1, -1] and right == [4, 3, -1, -1, 6, -1, -1]


def test_generated_expressions_have_exact_depths_values_and_valid_arrays():
    data = generate_expressions(300, [1, 3, 5], seed=7)
    assert set(data["depths"].tolist()) == {1, 3, 5}
    assert (tree_depths(data["left"], data["right"]) == data["depths"]).all()
    for b in range(0, 300, 17):
        assert _eval_arrays(data["tokens"][b], data["left"][b], data["right"][b]) == data["values"][b]
    again = generate_expressions(300, [1, 3, 5], seed=7)
    assert all(np.array_equal(data[k], again[k]) for k in data)
    rng = random.Random(0)
    for depth in range(6):
        assert expression_depth(random_expression(depth, rng)) == depth
    assert 0.05 < np.mean(data["values"] == 0) < 0.4  # not degenerate


def _tree():
    # (+ 1 2) padded to 5 nodes.
    return pad_trees([([11, 2, 3], [1, -1, -1], [2, -1, -1])], 5)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda t, l, r: l.__setitem__((0, 0), 5), r"out of range.*left\[0, 0\]=5"),
        (lambda t, l, r: l.__setitem__((0, 0), -2), "out of range"),
        (lambda t, l, r: r.__setitem__((0, 0), 1), "node 1 has more than one parent"),
        (lambda t, l, r: (l.__setitem__((0, 1), 0), t.__setitem__((0, 1), 11)), "cycle"),
        (lambda t, l, r: l.__setitem__((0, 2), 2), "cycle"),
        (lambda t, l, r: (l.__setitem__((0, 3), 4), t.__setitem__((0, 3), 11)), r"Node 3 of tree 0 is not reachable"),
        (lambda t, l, r: t.__setitem__((0, 2), 0), r"Leaf 2 of tree 0 has no token"),
        (lambda t, l, r: t.__setitem__((0, 4), 3), "not reachable"),
    ],
)
def test_validation_errors(edit, message):
    tokens, left, right = _tree()
    validate_trees(tokens, left, right)
    edit(tokens, left, right)
    with pytest.raises(ValueError, match=message):
        validate_trees(tokens, left, right)


def test_preorder_violation_and_shapes():
    # Root 0 -> children 2 and 1? fine; child 1 -> child 0-based earlier node without a cycle:
    # node 2's child is node 1 (earlier, not an ancestor).
    tokens = np.array([[11, 2, 12, 3]], "int32")
    left = np.array([[2, -1, 1, -1]], "int32")
    right = np.array([[-1, -1, 3, -1]], "int32")
    with pytest.raises(ValueError, match="preorder"):
        validate_trees(tokens, left, right)
    with pytest.raises(ValueError, match="one shape"):
        validate_trees(tokens, left[:, :3], right)
    with pytest.raises(ValueError, match="integers"):
        validate_trees(tokens.astype("float32"), left, right)
    with pytest.raises(ValueError, match="num_nodes"):
        pad_trees([([2], [-1], [-1]), ([11, 2, 3], [1, -1, -1], [2, -1, -1])], 2)
    with pytest.raises(ValueError, match="depths"):
        generate_expressions(3, [-1])
    with pytest.raises(ValueError, match="`n`"):
        generate_expressions(0, [1])
