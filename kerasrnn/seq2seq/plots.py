"""Matplotlib figures for sequence-to-sequence runs (matplotlib imported lazily; no pyplot)."""

from kerasrnn.plots import subplots


def plot_attention(weights, source_tokens, target_tokens, path, title=None):
    """Saves a heat map of alignment `weights` `(len(target), len(source))`."""
    rows, cols = len(target_tokens), len(source_tokens)
    fig, ax = subplots(figsize=(max(4, 0.32 * cols + 2), max(3, 0.32 * rows + 1.5)))
    image = ax.imshow(weights[:rows, :cols], cmap="viridis", aspect="auto", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(cols))
    ax.set_xticklabels([repr(t)[1:-1] if t.strip() else "␣" for t in source_tokens],
                       rotation=90, fontsize=8)
    ax.set_yticks(range(rows))
    ax.set_yticklabels([t if t.strip() else "␣" for t in target_tokens], fontsize=8)
    ax.set_xlabel("source")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=9)
    fig.colorbar(image, ax=ax, fraction=0.03)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def plot_accuracy_by_length(curves, path, title=None):
    """Saves exact-match accuracy against input length.

    `curves` maps a label to `(lengths, accuracies)`.
    """
    fig, ax = subplots(figsize=(6, 4))
    for label, (lengths, accuracies) in curves.items():
        ax.plot(lengths, accuracies, marker="o", label=label)
    ax.set_xlabel("input length (characters)")
    ax.set_ylabel("exact-match accuracy")
    ax.set_ylim(0.0, 1.02)
    ax.grid(alpha=0.3)
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path
