"""Figures without pyplot, so nothing depends on a display or changes the caller's backend; saved
as PNG files written whole or not at all. matplotlib is imported on first use: every script
imports the modules that draw, few of them draw."""

from __future__ import annotations

from typing import TYPE_CHECKING

from jaxgpt.atomic import atomic_path

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def new_figure(**kwargs) -> Figure:
    """A matplotlib Figure (a notebook shows it when it is a cell's value)."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_png(fig: Figure, path) -> Figure:
    """Write `fig` as a PNG; a reader never sees a half-written file."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return fig
