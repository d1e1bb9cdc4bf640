"""Matplotlib helpers for pipelines and notebooks: learning curves, heat maps.

`learning_curves` draws a Keras `History`; `plot_curves` draws any named
curves (one run or several per label) against shared x values.

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


def plot_curves(curves, path=None, x=None, xlabel="epoch", ylabel=None, title=None, logy=False,
                dpi=100):
    """Plots named curves on one set of axes, each a single run or several.

    Args:
        curves: Mapping label -> values. The values are one curve (a 1-D
            sequence of numbers) or several runs of the same curve (a
            sequence of 1-D sequences, e.g. one per seed): each run is drawn
            faint and their mean bold (runs are cut to the shortest).
        path: Where to write the PNG (directories are created); `None` only
            returns the figure.
        x: The x values shared by every curve (numbers, or strings for
            categories); default `1, 2, ...` (epochs). Curves longer than `x`
            are cut to its length.
        xlabel, ylabel, title: Axis labels and title.
        logy: Symmetric-log y axis (linear within ±0.1), for values that span
            decades and may reach 0.
        dpi: Resolution of the PNG.

    Returns:
        The `matplotlib.figure.Figure`.

    Example: `plot_curves({"loss": [2.1, 1.4, 1.2]}, "loss.png")`, or
    `plot_curves({"LSTM": [[0.7, 0.8], [0.72, 0.79]]}, "acc.png",
    ylabel="validation accuracy")` for two runs.
    """
    import numpy as np

    if not curves:
        raise ValueError("`curves` must hold at least one curve. Received: curves={}")
    figure = _figure((7.0, 4.0))
    axes = figure.add_subplot()
    for k, (label, values) in enumerate(curves.items()):
        color = f"C{k}"
        runs = [values] if _is_curve(values) else list(values)
        if not runs or not all(_is_curve(r) and len(r) for r in runs):
            raise ValueError(
                f"Each curve must be a non-empty 1-D sequence of numbers or a list of them. "
                f"Received: curves[{label!r}]={values!r}"
            )
        length = min(len(r) for r in runs)
        if x is not None:
            length = min(length, len(x))
        xs = list(x[:length]) if x is not None else list(range(1, length + 1))
        if len(runs) == 1:
            axes.plot(xs, np.asarray(runs[0][:length], dtype=float), color=color,
                      marker="o" if length < 30 else None, markersize=3, label=str(label))
            continue
        ys = np.asarray([r[:length] for r in runs], dtype=float)
        for run in ys:
            axes.plot(xs, run, color=color, alpha=0.25, linewidth=1)
        axes.plot(xs, ys.mean(axis=0), color=color, linewidth=2.5,
                  label=f"{label} (mean of {len(runs)})")
    if x is None:
        from matplotlib.ticker import MaxNLocator

        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    if xlabel:
        axes.set_xlabel(xlabel)
    if ylabel:
        axes.set_ylabel(ylabel)
    if logy:
        axes.set_yscale("symlog", linthresh=0.1)
    if title:
        axes.set_title(title)
    axes.grid(alpha=0.3)
    axes.legend()
    return _save(figure, path, dpi)


def _is_curve(values):
    """Whether `values` is one curve (a 1-D sequence of numbers)."""
    import numbers

    import numpy as np

    if isinstance(values, np.ndarray):
        return values.ndim == 1
    try:
        return all(isinstance(v, numbers.Real) for v in values)
    except TypeError:  # not iterable
        return False


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
