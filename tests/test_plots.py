"""kerasrnn.plots: PNGs are written, content reflects the data, bad input."""

import math

import numpy as np
import pytest

from kerasrnn.plots import BITS_PER_NAT
from kerasrnn.plots import heatmap
from kerasrnn.plots import learning_curves

PNG = b"\x89PNG\r\n\x1a\n"


def test_learning_curves_pairs_val_keys_and_scales(tmp_path):
    history = {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5], "accuracy": [0.1, 0.2]}
    path = tmp_path / "sub" / "curves.png"
    figure = learning_curves(history, str(path), keys=["loss"], scale=BITS_PER_NAT)
    assert path.read_bytes()[:8] == PNG
    (axes,) = figure.axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert set(lines) == {"loss", "val_loss"}
    np.testing.assert_allclose(lines["val_loss"].get_ydata(), [2.5 / math.log(2), 1.5 / math.log(2)])
    assert lines["val_loss"].get_color() == lines["loss"].get_color()


def test_learning_curves_rejects_unknown_keys_and_empty_history():
    with pytest.raises(ValueError, match="not in history"):
        learning_curves({"loss": [1.0]}, keys=["acc"])
    with pytest.raises(ValueError, match="empty history"):
        learning_curves({})


def test_heatmap_writes_png_with_labels(tmp_path):
    values = np.arange(6).reshape(2, 3)
    figure = heatmap(values, str(tmp_path / "h.png"), x_labels=list("abc"), y_labels=["r0", "r1"])
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG
    axes = figure.axes[0]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["a", "b", "c"]
    np.testing.assert_array_equal(axes.images[0].get_array(), values)
    with pytest.raises(ValueError, match="2-D"):
        heatmap(np.zeros(3))
    with pytest.raises(ValueError, match="`x_labels` must have 3 entries"):
        heatmap(values, x_labels=["a"])
