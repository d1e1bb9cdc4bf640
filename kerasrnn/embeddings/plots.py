"""Matplotlib figures for word vectors (matplotlib imported lazily; no pyplot)."""

import numpy as np

from kerasrnn.plots import plot_curves  # noqa: F401  (the one definition, re-exported)
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
