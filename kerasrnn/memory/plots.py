"""Matplotlib pictures of a Neural Turing Machine at work (imported lazily)."""

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_ntm_heatmaps(path, inputs, targets, outputs, read_weightings, write_weightings, title=None):
    """Writes one PNG: inputs, targets, outputs and head weightings over time.

    Args:
        path: Output PNG file.
        inputs: `(T, input_dim)` of one sequence.
        targets: `(T, output_dim)`.
        outputs: `(T, output_dim)` predicted probabilities.
        read_weightings: `(T, heads, N)` or `(T, N)`; the heads are summed.
        write_weightings: as `read_weightings`.
        title: Optional figure title.
    """
    plt = _pyplot()
    read_w, write_w = np.asarray(read_weightings), np.asarray(write_weightings)
    if read_w.ndim == 3:
        read_w = read_w.sum(axis=1)
    if write_w.ndim == 3:
        write_w = write_w.sum(axis=1)
    panels = [
        ("inputs", np.asarray(inputs).T),
        ("targets", np.asarray(targets).T),
        ("outputs", np.asarray(outputs).T),
        ("write weightings", write_w.T),
        ("read weightings", read_w.T),
    ]
    heights = [max(p.shape[0], 4) for _, p in panels]
    fig, axes = plt.subplots(len(panels), 1, figsize=(10, 2 + sum(heights) / 12), gridspec_kw={"height_ratios": heights})
    for ax, (name, data) in zip(axes, panels):
        ax.imshow(data, aspect="auto", cmap="gray_r", interpolation="nearest", vmin=0.0, vmax=max(1.0, float(data.max())))
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    axes[-1].set_xlabel("time step")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_curves(path, series, xlabel, ylabel, title=None, logy=False):
    """Writes one PNG of named curves: `series` maps name -> (xs, ys)."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, (xs, ys) in series.items():
        ax.plot(xs, ys, marker="o" if len(xs) < 30 else None, label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if logy:
        ax.set_yscale("symlog", linthresh=0.1)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
