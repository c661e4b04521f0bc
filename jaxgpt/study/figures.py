"""Pictures for studying: attention heatmaps (one head, or a grid of heads) and loss curves.

Every function returns a matplotlib `Figure` (shown by a notebook when it is a cell's value) and
writes a PNG when given a `path`. Figures are built without pyplot, so nothing depends on a
display or changes the backend of the caller.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from jaxgpt.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _figure(**kwargs) -> Figure:
    # matplotlib is imported on first use: every script imports this module, few draw at once
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save(fig: Figure, path) -> Figure:
    """Write `fig` as a PNG; a reader never sees a half-written file."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return fig


def _heatmap(ax, weights_TxS, queries=None, keys=None, title=None):
    image = ax.imshow(np.asarray(weights_TxS, np.float32), cmap="viridis", vmin=0.0, aspect="auto")
    T, S = np.shape(weights_TxS)
    if keys is not None and len(keys) <= 64:
        ax.set_xticks(range(S), [repr(k)[1:-1] if isinstance(k, str) else k for k in keys], rotation=90, fontsize=7)
    if queries is not None and len(queries) <= 64:
        ax.set_yticks(range(T), [repr(q)[1:-1] if isinstance(q, str) else q for q in queries], fontsize=7)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query")
    if title:
        ax.set_title(title, fontsize=9)
    return image


def plot_attention(weights_TxS, queries=None, keys=None, title=None, path=None) -> Figure:
    """One head's attention weights [T, S]: row t is how query t spreads its attention over the keys.
    `queries` and `keys` label the axes (tokens or characters)."""
    if np.ndim(weights_TxS) != 2:
        raise ValueError(f"plot_attention takes one head's weights [T, S], got shape {np.shape(weights_TxS)}")
    fig = _figure(figsize=(5, 4.5))
    ax = fig.subplots()
    fig.colorbar(_heatmap(ax, weights_TxS, queries, keys, title), ax=ax)
    fig.tight_layout()
    return save(fig, path) if path else fig


def plot_attention_heads(weights_HxTxS, queries=None, keys=None, title=None, columns=4, path=None) -> Figure:
    """A grid with one heatmap per head of one layer, weights [H, T, S]."""
    if np.ndim(weights_HxTxS) != 3:
        raise ValueError(
            f"plot_attention_heads takes one layer's weights [H, T, S], got shape {np.shape(weights_HxTxS)}"
        )
    H = np.shape(weights_HxTxS)[0]
    columns = min(columns, H)
    rows = math.ceil(H / columns)
    fig = _figure(figsize=(3.2 * columns, 3.0 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for h, ax in enumerate(axes):
        if h < H:
            _heatmap(ax, weights_HxTxS[h], queries, keys, f"head {h}")
        else:
            ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path) if path else fig


def plot_losses(records: list[dict], path=None) -> Figure:
    """Training loss per logged step and train/val loss per evaluation (the records of
    metrics.jsonl: {"iter", "loss"} and {"iter", "train_loss", "val_loss"})."""
    fig = _figure(figsize=(7, 4))
    ax = fig.subplots()
    steps = [r for r in records if "loss" in r]
    evals = [r for r in records if "val_loss" in r]
    if steps:
        ax.plot([r["iter"] for r in steps], [r["loss"] for r in steps], lw=0.8, alpha=0.6, label="train (batch)")
    if evals:
        ax.plot([r["iter"] for r in evals], [r["train_loss"] for r in evals], "o-", label="train (eval)")
        ax.plot([r["iter"] for r in evals], [r["val_loss"] for r in evals], "o-", label="val (eval)")
    ax.set_xlabel("iteration")
    ax.set_ylabel("cross-entropy loss")
    ax.grid(alpha=0.3)
    if steps or evals:
        ax.legend()
    fig.tight_layout()
    return save(fig, path) if path else fig
