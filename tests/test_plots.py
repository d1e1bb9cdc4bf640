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


def test_plot_curves_single_runs_against_shared_x(tmp_path):
    from kerasrnn.plots import plot_curves

    path = tmp_path / "out" / "curves.png"
    seen = [32, 64, 96]
    figure = plot_curves({"train": [3.0, 2.0, 1.0], "held-out": np.array([3.5, 2.5, 1.5, 9.0])}, str(path),
                         x=seen, xlabel="training sequences", ylabel="bits", title="t", logy=True)
    assert path.read_bytes()[:8] == PNG
    (axes,) = figure.axes
    lines = {line.get_label(): line for line in axes.get_lines()}
    assert set(lines) == {"train", "held-out"}
    np.testing.assert_array_equal(lines["held-out"].get_xdata(), seen)  # cut to len(x)
    np.testing.assert_allclose(lines["held-out"].get_ydata(), [3.5, 2.5, 1.5])
    assert axes.get_yscale() == "symlog" and axes.get_xlabel() == "training sequences"


def test_plot_curves_categorical_x_and_default_epochs():
    from kerasrnn.plots import plot_curves

    figure = plot_curves({"errors": [0.5, 2.0]}, x=["short", "long"], xlabel="test set")
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["short", "long"]
    figure = plot_curves({"loss": [1.0, 0.5, 0.25]})
    np.testing.assert_array_equal(figure.axes[0].get_lines()[0].get_xdata(), [1, 2, 3])
    assert figure.axes[0].get_xlabel() == "epoch"


def test_plot_curves_several_runs_draw_a_mean(tmp_path):
    from kerasrnn.plots import plot_curves

    figure = plot_curves({"lstm": [[0.5, 0.7, 0.8], [0.6, 0.8]], "gru": [[0.4, 0.6]]},
                         str(tmp_path / "acc.png"), ylabel="validation accuracy")
    lines = figure.axes[0].get_lines()
    labelled = {line.get_label(): line for line in lines if not line.get_label().startswith("_")}
    assert set(labelled) == {"lstm (mean of 2)", "gru"}
    np.testing.assert_allclose(labelled["lstm (mean of 2)"].get_ydata(), [0.55, 0.75])  # cut to the shortest
    assert len(lines) == 4  # two faint runs, their mean, one single run


def test_plot_curves_is_the_one_definition():
    from kerasrnn import plots
    from kerasrnn.embeddings import plots as embedding_plots
    from kerasrnn.memory import plots as memory_plots

    assert memory_plots.plot_curves is plots.plot_curves
    assert embedding_plots.plot_curves is plots.plot_curves


def test_plot_curves_rejects_bad_curves():
    from kerasrnn.plots import plot_curves

    with pytest.raises(ValueError, match="at least one curve"):
        plot_curves({})
    with pytest.raises(ValueError, match=r"curves\['a'\]"):
        plot_curves({"a": []})
    with pytest.raises(ValueError, match=r"curves\['b'\]"):
        plot_curves({"b": "text"})
