"""metrics.jsonl (one JSON object per logged step or evaluation) and loss.png (the curves so far,
redrawn after an evaluation at most every `plot_every` seconds, and when training ends): the run's
own record, readable without any tool.

The file is one history: a resumed run first drops the records past the step it restored (those
steps are trained again), rewriting the file atomically, so no step appears twice. A line cut
short by a crash is skipped when reading."""

from __future__ import annotations

import json
import pathlib
import time
from typing import TYPE_CHECKING

from jaxgpt.atomic import write_atomically
from jaxgpt.errors import reported_os_errors
from jaxgpt.plotting import new_figure, save_png

if TYPE_CHECKING:
    from matplotlib.figure import Figure


_RESUME = "fix the folder (its space, its permissions) and resume with --init_from resume"


class MetricsLog:
    """A writer (see writers.py) of metrics.jsonl and loss.png. `resumed_at`: the step a resumed
    run restored; the records after it are dropped, as those steps are trained again."""

    FILES = ("metrics.jsonl", "loss.png")

    def __init__(self, out_dir, resumed_at: int | None = None, plot_every: float = 10.0):
        self.out_dir = pathlib.Path(out_dir)
        self.path = self.out_dir / "metrics.jsonl"
        self.plot_every = plot_every  # seconds: drawing takes ~0.3 s, too long to repeat every few steps
        # the first drawing waits `plot_every` seconds too (or a flush): the curve of one
        # evaluation is a dot, not worth matplotlib's start-up beside training's first steps
        self._plotted_at = time.monotonic()
        self._file = None  # opened at the first record, kept open: a line costs a write, not an open
        self._drawn = True  # loss.png shows every record so far
        if resumed_at is not None:
            self.keep_until(resumed_at)

    def record(self, step: int, scalars: dict) -> None:
        """One line {"iter": step, **scalars}, written through to the file (a crash loses none);
        after an evaluation, the curves are redrawn (at most every `plot_every` seconds)."""
        self._append({"iter": step, **scalars})
        self._drawn = False
        if "val_loss" in scalars and time.monotonic() - self._plotted_at >= self.plot_every:
            self.plot()

    def _append(self, record: dict) -> None:
        with reported_os_errors(f"write {self.path}", _RESUME):
            if self._file is None:
                self._file = self.path.open("a")
            self._file.write(json.dumps(record) + "\n")
            self._file.flush()

    def text(self, step: int, name: str, text: str) -> None:
        """Texts (a closing sample) are for TensorBoard and W&B; metrics.jsonl holds numbers."""

    def flush(self) -> None:
        """Redraw loss.png if records came since it was drawn (every line is in the file already)."""
        if not self._drawn:
            self.plot()

    def close(self) -> None:
        self.flush()
        if self._file is not None:
            self._file.close()
            self._file = None

    def plot(self) -> None:
        with reported_os_errors(f"write {self.out_dir / 'loss.png'}", _RESUME):
            plot_losses(self.records(), self.out_dir / "loss.png")
        self._plotted_at = time.monotonic()
        self._drawn = True

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        records = []
        for line in self.path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:  # a line cut short by a crash
                continue
            if isinstance(record, dict) and isinstance(record.get("iter"), int):
                records.append(record)
        return records

    def keep_until(self, step: int) -> None:
        """Resuming from `step`: drop every record after it (and any damaged line), then redraw."""
        if not self.path.exists():
            return
        kept = [record for record in self.records() if record["iter"] <= step]
        write_atomically(self.path, "".join(json.dumps(record) + "\n" for record in kept))
        self.plot()


def plot_losses(records: list[dict], path=None) -> Figure:
    """Training loss per logged step and train/val loss per evaluation (the records of
    metrics.jsonl: {"iter", "loss"} and {"iter", "train_loss", "val_loss"})."""
    fig = new_figure(figsize=(7, 4))
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
    return save_png(fig, path) if path else fig
