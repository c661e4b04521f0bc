"""What training writes for people: metrics.jsonl (one JSON object per logged step or
evaluation), the same scalars as TensorBoard events (`tensorboard/`, see tensorboard.py) and
loss.png (the curves so far, redrawn after an evaluation at most every `plot_every` seconds, and
when training ends).

The file is one history: a resumed run first drops the records past the step it restored (those
steps are trained again), rewriting the file atomically, so no step appears twice. A line cut
short by a crash is skipped when reading."""

from __future__ import annotations

import json
import math
import pathlib
import time
from typing import TYPE_CHECKING

from jaxgpt.atomic import write_atomically
from jaxgpt.errors import reported_os_errors
from jaxgpt.plotting import new_figure, save_png
from jaxgpt.training.tensorboard import TensorBoardWriter

if TYPE_CHECKING:
    from matplotlib.figure import Figure


_RESUME = "free some disk space (or fix the folder's permissions) and resume with --init_from resume"


class MetricsLog:
    def __init__(self, out_dir, plot_every: float = 10.0, wandb=None):
        self.out_dir = pathlib.Path(out_dir)
        self.path = self.out_dir / "metrics.jsonl"
        self.plot_every = plot_every  # seconds: drawing takes ~0.3 s, too long to repeat every few steps
        self._plotted_at = -math.inf
        self.tensorboard = TensorBoardWriter(out_dir)
        self.wandb = wandb  # a WandbWriter with --wandb_log, else None

    def _append(self, record: dict) -> None:
        with reported_os_errors(f"write {self.path}", _RESUME), self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
        with reported_os_errors(f"write {self.tensorboard.path}", _RESUME):
            self.tensorboard.record(record)
        if self.wandb is not None:
            self.wandb.record(record)

    def step(
        self,
        step: int,
        loss: float,
        lr: float,
        ms_per_iter: float,
        tokens_per_sec: float,
        mfu: float,
        grad_norm: float | None = None,
        param_norm: float | None = None,
        loss_scale: float | None = None,
    ):
        scale = {} if loss_scale is None else {"loss_scale": loss_scale}  # float16 runs only
        self._append(
            {
                "iter": step,
                "loss": loss,
                "lr": lr,
                "grad_norm": grad_norm,  # the gradient's global norm before clipping: first to look at when a run diverges
                "param_norm": param_norm,  # the parameters' global norm
                "ms_per_iter": ms_per_iter,
                "tokens_per_sec": tokens_per_sec,
                "mfu": mfu,
                **scale,
            }
        )

    def evaluation(self, step: int, train_loss: float, val_loss: float, lr: float) -> None:
        self._append({"iter": step, "train_loss": train_loss, "val_loss": val_loss, "lr": lr})
        if time.monotonic() - self._plotted_at >= self.plot_every:
            self.plot()

    def close(self) -> None:
        """Write out TensorBoard's buffered events (the JSON lines are written at once) and end the W&B run."""
        self.tensorboard.close()
        if self.wandb is not None:
            self.wandb.close()
            self.wandb = None

    def plot(self) -> None:
        with reported_os_errors(f"write {self.out_dir / 'loss.png'}", _RESUME):
            plot_losses(self.records(), self.out_dir / "loss.png")
        self._plotted_at = time.monotonic()

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
        self.tensorboard.purge_after(step)  # and TensorBoard's events of those steps


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
