"""Matplotlib figures for word vectors (matplotlib imported lazily; no pyplot)."""

import numpy as np

from kerasrnn.plots import subplots


def pca_2d(vectors):
    """Projects rows of `vectors` on their first two principal components (SVD)."""
    vectors = np.asarray(vectors, dtype="float64")
    centred = vectors - vectors.mean(axis=0)
    _, _, components = np.linalg.svd(centred, full_matrices=False)
    return centred @ components[:2].T


def plot_projection(keyed_vectors, words, path, title="Word vectors (PCA)"):
    """Saves a labelled 2-D PCA scatter of `words` as a PNG; returns the
    words plotted (those the vectors know; at least two are needed)."""
    known = [w for w in dict.fromkeys(words) if w in keyed_vectors.key_to_index]
    if len(known) < 2:
        raise ValueError(f"At least two known words are needed for a projection. Received: words={list(words)[:10]!r}")
    points = pca_2d(np.stack([keyed_vectors[w] for w in known]))
    fig, ax = subplots(figsize=(8, 8))
    ax.scatter(points[:, 0], points[:, 1], s=12, color="tab:blue")
    for word, (x, y) in zip(known, points):
        ax.annotate(word, (x, y), xytext=(3, 3), textcoords="offset points", fontsize=9)
    ax.set_title(title)
    ax.set_xlabel("PC 1")
    ax.set_ylabel("PC 2")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return known


def plot_curves(curves, path, ylabel="validation accuracy", title=None):
    """Plots `{label: [run, ...]}` (each run a per-epoch list): faint lines per
    run, a bold mean per label. Saves a PNG at `path`."""
    fig, ax = subplots(figsize=(8, 5))
    for k, (label, runs) in enumerate(curves.items()):
        color = f"C{k}"
        length = min(len(r) for r in runs)
        epochs = np.arange(1, length + 1)
        for run in runs:
            ax.plot(epochs, run[:length], color=color, alpha=0.25, linewidth=1)
        mean = np.mean([r[:length] for r in runs], axis=0)
        ax.plot(epochs, mean, color=color, linewidth=2.5, label=f"{label} (mean of {len(runs)})")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
