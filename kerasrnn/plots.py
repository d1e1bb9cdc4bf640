"""Matplotlib helpers for pipelines and notebooks: learning curves, heat maps.

Matplotlib is imported only when a function is called, and figures are drawn
with the Agg canvas directly (no `pyplot`), so these helpers work on machines
without a display and never change the pyplot backend of a notebook. Each
function writes a PNG when given a `path` and returns the
`matplotlib.figure.Figure`.
"""

import math
import os


def _figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def subplots(nrows=1, ncols=1, figsize=None, **kwargs):
    """`pyplot.subplots` without pyplot: a new Agg-backed Figure and its axes.

    Use it instead of `pyplot` in library code so that drawing never switches
    a notebook's backend (`kwargs` go to `Figure.subplots`).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(nrows, ncols, **kwargs)


def _save(figure, path, dpi):
    if path is not None:
        directory = os.path.dirname(os.fspath(path))
        if directory:
            os.makedirs(directory, exist_ok=True)
        figure.savefig(path, dpi=dpi)
    return figure


def learning_curves(history, path=None, keys=None, scale=1.0, ylabel="loss", title=None, dpi=100):
    """Plots per-epoch metrics, each training key with its `val_` twin.

    Args:
        history: `keras.callbacks.History.history`-style dict: name -> list
            of per-epoch values.
        path: Where to write the PNG (directories are created); `None` only
            returns the figure.
        keys: Training metric names to plot (default: every key without the
            `val_` prefix); `val_<key>` is drawn dashed on the same axes.
        scale: Factor applied to every value (e.g. `1 / ln 2` turns nats
            into bits).
        ylabel: Label of the y axis.
        title: Figure title.
        dpi: Resolution of the PNG.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    if not history:
        raise ValueError("`history` must hold at least one metric. Received: an empty history")
    if keys is None:
        keys = [k for k in history if not k.startswith("val_")] or list(history)
    missing = [k for k in keys if k not in history]
    if missing:
        raise ValueError(f"`keys` not in history: {missing}. Available: {sorted(history)}")
    figure = _figure((6.4, 4.0))
    axes = figure.add_subplot()
    for key in keys:
        values = [float(v) * scale for v in history[key]]
        epochs = range(1, len(values) + 1)
        (line,) = axes.plot(epochs, values, marker="o", markersize=3, label=key)
        val_key = f"val_{key}"
        if val_key in history and val_key not in keys:
            val_values = [float(v) * scale for v in history[val_key]]
            axes.plot(range(1, len(val_values) + 1), val_values, linestyle="--", marker="o",
                      markersize=3, color=line.get_color(), label=val_key)
    from matplotlib.ticker import MaxNLocator

    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_xlabel("epoch")
    axes.set_ylabel(ylabel)
    axes.grid(alpha=0.3)
    axes.legend()
    if title:
        axes.set_title(title)
    return _save(figure, path, dpi)


def heatmap(values, path=None, x_labels=None, y_labels=None, xlabel=None, ylabel=None, title=None,
            cmap="viridis", colorbar=True, dpi=100):
    """Draws a 2-D array as an image (rows top to bottom), e.g. attention
    weights, memory contents or gate activations over time.

    Args:
        values: 2-D array-like `(rows, columns)`.
        path: Where to write the PNG; `None` only returns the figure.
        x_labels, y_labels: Optional tick labels, one per column / row
            (shown when there are at most 60 of them).
        xlabel, ylabel, title: Axis labels and title.
        cmap: Matplotlib colour map name.
        colorbar: Draw a colour bar.
        dpi: Resolution of the PNG.

    Returns:
        The `matplotlib.figure.Figure`.
    """
    import numpy as np

    values = np.asarray(values, dtype=float)
    if values.ndim != 2 or 0 in values.shape:
        raise ValueError(f"`values` must be a non-empty 2-D array. Received: shape={values.shape}")
    for name, labels, size in (("x_labels", x_labels, values.shape[1]), ("y_labels", y_labels, values.shape[0])):
        if labels is not None and len(labels) != size:
            raise ValueError(f"`{name}` must have {size} entries. Received: {len(labels)}")
    rows, columns = values.shape
    width = min(12.0, max(4.0, 0.25 * columns + 2))
    height = min(10.0, max(3.0, 0.25 * rows + 1.5))
    figure = _figure((width, height))
    axes = figure.add_subplot()
    image = axes.imshow(values, aspect="auto", interpolation="nearest", cmap=cmap)
    if x_labels is not None and columns <= 60:
        axes.set_xticks(range(columns), [str(v) for v in x_labels], rotation=90 if columns > 12 else 0)
    if y_labels is not None and rows <= 60:
        axes.set_yticks(range(rows), [str(v) for v in y_labels])
    if xlabel:
        axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    if title:
        axes.set_title(title)
    if colorbar:
        figure.colorbar(image, ax=axes)
    return _save(figure, path, dpi)


#: Multiply a loss in nats by this to get bits.
BITS_PER_NAT = 1.0 / math.log(2.0)
