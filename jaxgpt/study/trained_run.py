"""Where a notebook finds the run `python scripts/train.py` made: its out_dir, looked for in the
folder the notebook runs in and in each folder above it (Jupyter opened on notebooks/ runs the
notebooks there, while the run sits in the repository's root)."""

from __future__ import annotations

import pathlib


def find_run(out_dir: str = "out-shakespeare-char", start=".", echo=print) -> pathlib.Path | None:
    """The first `out_dir` holding a run (its config.json) in `start` or a folder above it; None,
    with one line saying where it looked, when there is none."""
    start = pathlib.Path(start).resolve()
    for folder in (start, *start.parents):
        if (folder / out_dir / "config.json").is_file():
            return folder / out_dir
    echo(f"no {out_dir} run in {start} or the folders above it")
    return None
