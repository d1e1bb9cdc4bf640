"""Binary trees as padded arrays, and random arithmetic expression trees.

A batch of binary trees is three integer arrays of shape `(batch, nodes)`:

* `tokens[b, i]`: the token of node `i` (0 = no token / padding);
* `left[b, i]`, `right[b, i]`: the positions of its children, `-1` for none.

Nodes are in preorder: the root is node 0 and every child comes after its
parent, so a loop from the last position down to 0 meets every child before
its parent (`kerasrnn.layers.TreeRNN` relies on this). Padding nodes (token 0,
no children, referenced by nobody) fill the positions after the last node.
The preorder token sequence is the expression in prefix (Polish) notation.

`validate_trees` checks all of this and raises a `ValueError` naming the tree
and the node. `generate_expressions` draws expressions modulo 10 with `+`,
`-`, `*`, of an exact depth, with their values.
"""

import random

import numpy as np

from kerasrnn.validation import check_positive_int

PAD = 0
#: Digit `d` is token `d + 1`; operators follow.
DIGIT_TOKENS = tuple(range(1, 11))
OPERATORS = {"+": 11, "-": 12, "*": 13}
VOCAB_SIZE = 14
_OP_FUNCS = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
_TOKEN_STRINGS = {PAD: "<pad>", **{d + 1: str(d) for d in range(10)}, **{t: o for o, t in OPERATORS.items()}}


def random_expression(depth, rng, modulus=10, other_depth_p=0.5):
    """A random expression of exactly `depth` (a digit has depth 0).

    An expression is a digit (int) or a tuple `(op, left, right)`. One child,
    on a random side, has depth `depth - 1`; the other has a depth drawn from
    `0 .. depth - 1`, each extra level kept with probability `other_depth_p`
    (so trees stay small: about linear in `depth` on average).
    """
    if depth == 0:
        return rng.randrange(modulus)
    other = 0
    while other < depth - 1 and rng.random() < other_depth_p:
        other += 1
    deep = random_expression(depth - 1, rng, modulus, other_depth_p)
    shallow = random_expression(other, rng, modulus, other_depth_p)
    op = rng.choice(tuple(OPERATORS))
    return (op, deep, shallow) if rng.random() < 0.5 else (op, shallow, deep)


def evaluate(expression, modulus=10):
    """The value of `expression` modulo `modulus` (Python's `%`: in 0..m-1)."""
    if not isinstance(expression, tuple):
        return expression % modulus
    op, left, right = expression
    return _OP_FUNCS[op](evaluate(left, modulus), evaluate(right, modulus)) % modulus


def expression_depth(expression):
    """Depth of an expression tree `(op, left, right)`: 0 for a number,
    1 + the deeper child's depth otherwise."""
    if not isinstance(expression, tuple):
        return 0
    return 1 + max(expression_depth(expression[1]), expression_depth(expression[2]))


def to_infix(expression):
    """`expression` as a fully parenthesised string, e.g. `(3 + (4 * 5))`."""
    if not isinstance(expression, tuple):
        return str(expression)
    op, left, right = expression
    return f"({to_infix(left)} {op} {to_infix(right)})"


def to_arrays(expression):
    """Preorder `(tokens, left, right)` lists of one expression."""
    tokens, left, right = [], [], []

    def visit(node):
        index = len(tokens)
        tokens.append(0)
        left.append(-1)
        right.append(-1)
        if isinstance(node, tuple):
            op, a, b = node
            tokens[index] = OPERATORS[op]
            left[index] = visit(a)
            right[index] = visit(b)
        else:
            tokens[index] = DIGIT_TOKENS[node]
        return index

    visit(expression)
    return tokens, left, right


def pad_trees(trees, num_nodes=None):
    """Stacks `(tokens, left, right)` lists into padded `(batch, nodes)` arrays.

    `num_nodes` defaults to the largest tree; a smaller value is an error.
    """
    longest = max(len(t[0]) for t in trees)
    if num_nodes is None:
        num_nodes = longest
    if num_nodes < longest:
        raise ValueError(
            f"`num_nodes` must be at least the largest tree's size ({longest}). "
            f"Received: num_nodes={num_nodes}"
        )
    tokens = np.zeros((len(trees), num_nodes), "int32")
    left = np.full((len(trees), num_nodes), -1, "int32")
    right = np.full((len(trees), num_nodes), -1, "int32")
    for b, (t, l, r) in enumerate(trees):
        tokens[b, : len(t)], left[b, : len(l)], right[b, : len(r)] = t, l, r
    return tokens, left, right


def generate_expressions(n, depths, seed=0, modulus=10, num_nodes=None, other_depth_p=0.5):
    """`n` random expressions with depths drawn uniformly from `depths`.

    Returns a dict of NumPy arrays: `tokens`, `left`, `right` (`(n, nodes)`,
    preorder, validated), `values` (`(n,)`, the result modulo `modulus`) and
    `depths` (`(n,)`).
    """
    n = check_positive_int("n", n)
    depths = [depths] if isinstance(depths, int) else list(depths)
    if not depths or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in depths):
        raise ValueError(f"`depths` must be non-negative integers. Received: depths={depths!r}")
    rng = random.Random(seed)
    expressions = [random_expression(rng.choice(depths), rng, modulus, other_depth_p) for _ in range(n)]
    tokens, left, right = pad_trees([to_arrays(e) for e in expressions], num_nodes)
    validate_trees(tokens, left, right)
    return {
        "tokens": tokens,
        "left": left,
        "right": right,
        "values": np.array([evaluate(e, modulus) for e in expressions], "int32"),
        "depths": np.array([expression_depth(e) for e in expressions], "int32"),
    }


def tokens_to_string(tokens):
    """Prefix notation of one tree's token row (padding dropped)."""
    return " ".join(_TOKEN_STRINGS.get(int(t), f"<{int(t)}>") for t in tokens if t != PAD)


def tree_depths(left, right):
    """Depth of every tree (a single leaf has depth 0), `(batch,)`."""
    left, right = np.asarray(left), np.asarray(right)
    batch, nodes = left.shape
    height = np.zeros((batch, nodes + 1), "int32")  # slot `nodes` = no child
    rows = np.arange(batch)
    for i in reversed(range(nodes)):
        l, r = left[:, i], right[:, i]
        internal = (l >= 0) | (r >= 0)
        below = np.maximum(height[rows, np.where(l < 0, nodes, l)], height[rows, np.where(r < 0, nodes, r)])
        height[:, i] = np.where(internal, below + 1, 0)
    return height[:, 0]


def validate_trees(tokens, left, right):
    """Raises a clear `ValueError` unless the arrays hold valid preorder trees.

    Checks: equal 2-D integer shapes; child indices in `[-1, nodes)`; no cycles;
    children after their parent (preorder); no node with two parents; nodes
    not reachable from the root are padding (token 0, no children); every leaf
    reachable from the root has a token.
    """
    arrays = {"tokens": np.asarray(tokens), "left": np.asarray(left), "right": np.asarray(right)}
    shape = arrays["tokens"].shape
    for name, a in arrays.items():
        if a.ndim != 2 or a.shape != shape:
            raise ValueError(
                "`tokens`, `left` and `right` must be 2-D arrays of one shape (batch, nodes). "
                f"Received: shapes {[tuple(np.shape(x)) for x in arrays.values()]}"
            )
        if not np.issubdtype(a.dtype, np.integer):
            raise ValueError(f"`{name}` must hold integers. Received: {name}.dtype={a.dtype}")
    tokens, left, right = arrays["tokens"], arrays["left"], arrays["right"]
    batch, nodes = shape
    if nodes == 0:
        raise ValueError("Trees must have at least one node. Received: nodes=0")
    for name, a in (("left", left), ("right", right)):
        bad = np.argwhere((a < -1) | (a >= nodes))
        if bad.size:
            b, i = bad[0]
            raise ValueError(
                f"Child index out of range in tree {b}: {name}[{b}, {i}]={a[b, i]}; "
                f"must be -1 (no child) or in [0, {nodes})"
            )
    children = np.concatenate([left, right], axis=1)  # (batch, 2 * nodes)
    parents = np.concatenate([np.arange(nodes)] * 2)
    for b in range(batch):
        row = children[b]
        backward = np.argwhere((row >= 0) & (row <= parents))
        if backward.size:
            k = int(backward[0][0])
            parent, child = int(parents[k]), int(row[k])
            if _is_ancestor(child, parent, left[b], right[b]):
                raise ValueError(f"Tree {b} has a cycle through nodes {child} and {parent}")
            raise ValueError(
                f"Tree {b} is not in preorder: node {parent} has child {child} at an earlier "
                "position (children must come after their parent; the root is node 0)"
            )
        counts = np.bincount(row[row >= 0], minlength=nodes)
        if counts.max(initial=0) > 1:
            node = int(np.argmax(counts > 1))
            raise ValueError(f"Tree {b} is not a tree: node {node} has more than one parent")
    reachable = np.zeros((batch, nodes + 1), bool)
    reachable[:, 0] = True
    rows = np.arange(batch)
    for i in range(nodes):
        for child in (left[:, i], right[:, i]):
            reachable[rows, np.where(child < 0, nodes, child)] |= reachable[:, i]
    reachable = reachable[:, :nodes]
    is_leaf = (left < 0) & (right < 0)
    stray = np.argwhere(~reachable & ~(is_leaf & (tokens == PAD)))
    if stray.size:
        b, i = stray[0]
        raise ValueError(
            f"Node {i} of tree {b} is not reachable from the root (node 0) but is not padding "
            f"(token 0, no children): token={tokens[b, i]}, left={left[b, i]}, right={right[b, i]}"
        )
    empty = np.argwhere(reachable & is_leaf & (tokens == PAD))
    if empty.size:
        b, i = empty[0]
        raise ValueError(f"Leaf {i} of tree {b} has no token (tokens[{b}, {i}]=0)")


def _is_ancestor(candidate, node, left, right):
    """Whether `candidate` reaches `node` by following child links."""
    stack, seen = [candidate], set()
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        for child in (left[current], right[current]):
            if child == node:
                return True
            if child >= 0:
                stack.append(int(child))
    return False
