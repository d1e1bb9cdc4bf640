"""Matplotlib pictures of a Neural Turing Machine at work (imported lazily)."""

import numpy as np

from kerasrnn.plots import plot_curves  # noqa: F401  (the one definition, re-exported)
from kerasrnn.plots import subplots


def _used_rows(*weightings, threshold=0.01):
    """Indices of the memory rows any head weights above `threshold`."""
    peak = np.max([w.max(axis=0) for w in weightings], axis=0)
    rows = np.flatnonzero(peak > threshold)
    return rows if rows.size else np.arange(peak.shape[0])


def plot_ntm_heatmaps(path, inputs, targets, outputs, read_weightings, write_weightings, title=None, crop=True):
    """Writes one PNG: inputs, targets, outputs and head weightings over time.

    Args:
        path: Output PNG file.
        inputs: `(T, input_dim)` of one sequence.
        targets: `(T, output_dim)`.
        outputs: `(T, output_dim)` predicted probabilities.
        read_weightings: `(T, heads, N)` or `(T, N)`; the heads are summed.
        write_weightings: as `read_weightings`.
        title: Optional figure title.
        crop: Show only the memory rows some head weights above 0.01 (their
            indices label the axis).
    """
    read_w, write_w = np.asarray(read_weightings), np.asarray(write_weightings)
    if read_w.ndim == 3:
        read_w = read_w.sum(axis=1)
    if write_w.ndim == 3:
        write_w = write_w.sum(axis=1)
    rows = _used_rows(read_w, write_w) if crop else np.arange(read_w.shape[-1])
    read_w, write_w = read_w[:, rows], write_w[:, rows]
    panels = [
        ("inputs", np.asarray(inputs).T),
        ("targets", np.asarray(targets).T),
        ("outputs", np.asarray(outputs).T),
        ("write weightings", write_w.T),
        ("read weightings", read_w.T),
    ]
    heights = [min(max(p.shape[0], 4), 40) for _, p in panels]
    fig, axes = subplots(len(panels), 1, figsize=(10, 2 + sum(heights) / 8), gridspec_kw={"height_ratios": heights})
    for ax, (name, data) in zip(axes, panels):
        ax.imshow(data, aspect="auto", cmap="gray_r", interpolation="nearest", vmin=0.0, vmax=max(1.0, float(data.max())))
        ax.set_ylabel(name, rotation=0, ha="right", va="center")
        ax.set_yticks([])
    for ax in axes[3:]:
        ticks = np.linspace(0, len(rows) - 1, min(len(rows), 5)).astype(int)
        ax.set_yticks(ticks, [str(rows[t]) for t in ticks])
    axes[-1].set_xlabel("time step")
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 1, 0.97) if title else None)
    fig.savefig(path, dpi=100)


def plot_ntm_run(path, model, batch, title=None):
    """Runs an NTM on one sequence and writes its heat maps
    (`plot_ntm_heatmaps`): inputs, scored targets, predicted probabilities
    of the scored steps, and the heads' weightings.

    Args:
        path: Output PNG file.
        model: A `kerasrnn.models.ntm_model(..., return_weightings=True)`
            (a trained model's weights fit it: `set_weights(get_weights())`).
        batch: A task batch dict of one sequence (e.g.
            `kerasrnn.data.tasks.batches.longest_sequence(batch)`).
        title: Optional figure title.
    """
    logits, features = model.predict_on_batch(batch["inputs"])
    parts = model.get_layer("ntm").cell.split_output(np.asarray(features))
    steps = int(batch["sequence_mask"][0].sum())
    scored = batch["output_mask"][0, :steps, None]
    plot_ntm_heatmaps(
        path,
        batch["inputs"][0, :steps],
        batch["targets"][0, :steps] * scored,
        (1.0 / (1.0 + np.exp(-np.asarray(logits)[0, :steps]))) * scored,
        np.asarray(parts["read_weightings"])[0, :steps],
        np.asarray(parts["write_weightings"])[0, :steps],
        title=title,
    )
