"""Pictures for studying: attention heatmaps, one head or a grid of heads, and validation losses of
several runs side by side (one run's curves: see `jaxgpt.training.logs.metrics_file`).

Every function returns a matplotlib `Figure` (shown by a notebook when it is a cell's value) and
writes a PNG when given a `path`. Figures are built without pyplot, so nothing depends on a
display or changes the backend of the caller.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from jaxgpt.errors import InputError
from jaxgpt.plotting import new_figure, save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _label(token) -> str:
    return repr(token)[1:-1] if isinstance(token, str) else str(token)


def _tick_every(n_tokens: int, max_labels: int) -> int:
    """1 when all `n_tokens` labels fit, else the stride that shows at most `max_labels`."""
    return max(1, math.ceil(n_tokens / max_labels))


def _heatmap(ax, weights_TxS, queries=None, keys=None, title=None, max_labels=40, xlabel=True, ylabel=True):
    """One head's heatmap; the axes label every token while at most `max_labels` fit, else every
    k-th token (its position shown beside it), so labels never overlap."""
    image = ax.imshow(np.asarray(weights_TxS, np.float32), cmap="viridis", vmin=0.0, aspect="auto")
    for tokens, set_ticks, rotation in ((keys, ax.set_xticks, 90), (queries, ax.set_yticks, 0)):
        if tokens is None:
            continue
        every = _tick_every(len(tokens), max_labels)
        shown = range(0, len(tokens), every)
        labels = [_label(tokens[i]) if every == 1 else f"{_label(tokens[i])} {i}" for i in shown]
        set_ticks(list(shown), labels, rotation=rotation, fontsize=7)
    if xlabel:
        ax.set_xlabel("key (attended to)")
    if ylabel:
        ax.set_ylabel("query")
    if title:
        ax.set_title(title, fontsize=9)
    return image


def plot_attention(weights_TxS, queries=None, keys=None, title=None, path=None) -> Figure:
    """One head's attention weights [T, S]: row t is how query t spreads its attention over the keys.
    `queries` and `keys` label the axes (tokens or characters)."""
    if np.ndim(weights_TxS) != 2:
        raise InputError(f"plot_attention takes one head's weights [T, S], got shape {np.shape(weights_TxS)}")
    fig = new_figure(figsize=(5, 4.5))
    ax = fig.subplots()
    fig.colorbar(_heatmap(ax, weights_TxS, queries, keys, title), ax=ax)
    fig.tight_layout()
    return save_png(fig, path) if path else fig


def plot_attention_heads(weights_HxTxS, queries=None, keys=None, title=None, columns=4, path=None) -> Figure:
    """A grid with one heatmap per head of one layer, weights [H, T, S]."""
    if np.ndim(weights_HxTxS) != 3:
        raise InputError(
            f"plot_attention_heads takes one layer's weights [H, T, S], got shape {np.shape(weights_HxTxS)}"
        )
    H = np.shape(weights_HxTxS)[0]
    columns = min(columns, H)
    rows = math.ceil(H / columns)
    fig = new_figure(figsize=(3.6 * columns, 3.4 * rows))
    axes = np.atleast_1d(fig.subplots(rows, columns, squeeze=False)).ravel()
    for h, ax in enumerate(axes):
        if h < H:
            # a panel has room for ~20 labels; the axis names only on the outer panels
            first_column, bottom = h % columns == 0, h + columns >= H
            _heatmap(ax, weights_HxTxS[h], queries, keys, f"head {h}", 20, xlabel=bottom, ylabel=first_column)
        else:
            ax.set_axis_off()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return save_png(fig, path) if path else fig


def plot_val_losses(runs: dict[str, list[dict]], floor: float | None = None, path=None) -> Figure:
    """The validation loss of each run (name -> its metrics.jsonl records) against the step; with a
    `floor` (the least loss possible), a second panel shows each run's distance to it, on a log scale."""
    fig = new_figure(figsize=(11 if floor is not None else 6, 4))
    axes = fig.subplots(1, 2 if floor is not None else 1, squeeze=False)[0]
    for name, records in runs.items():
        evals = [r for r in records if "val_loss" in r]
        steps, losses = [r["iter"] for r in evals], np.array([r["val_loss"] for r in evals])
        axes[0].plot(steps, losses, "o-", label=name)
        if floor is not None:
            axes[1].semilogy(steps, losses - floor, "o-", label=name)
    if floor is not None:
        axes[0].axhline(floor, color="gray", ls="--", label=f"floor {floor:.4f}")
        axes[1].set_ylabel("val loss - floor")
        axes[1].set_title("distance to the floor", fontsize=9)
    axes[0].set_ylabel("val loss")
    for ax in axes:
        ax.set_xlabel("iteration")
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return save_png(fig, path) if path else fig
