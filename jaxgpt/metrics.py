"""What training writes for people: metrics.jsonl (one JSON object per logged step or
evaluation) and loss.png (the curves so far, redrawn at each evaluation)."""

from __future__ import annotations

import json
import os
import pathlib

import matplotlib

matplotlib.use("Agg")  # files only: no window, works on servers and in CI
import matplotlib.pyplot as plt  # noqa: E402


class MetricsLog:
    def __init__(self, out_dir):
        self.out_dir = pathlib.Path(out_dir)
        self.path = self.out_dir / "metrics.jsonl"

    def _append(self, record: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")

    def step(self, step: int, loss: float, lr: float, ms_per_iter: float, tokens_per_sec: float, mfu: float):
        self._append(
            {
                "iter": step,
                "loss": loss,
                "lr": lr,
                "ms_per_iter": ms_per_iter,
                "tokens_per_sec": tokens_per_sec,
                "mfu": mfu,
            }
        )

    def evaluation(self, step: int, train_loss: float, val_loss: float, lr: float) -> None:
        self._append({"iter": step, "train_loss": train_loss, "val_loss": val_loss, "lr": lr})
        plot_losses(self.records(), self.out_dir / "loss.png")

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        return [json.loads(line) for line in self.path.read_text().splitlines() if line.strip()]


def plot_losses(records: list[dict], path) -> None:
    """Training loss per logged step and train/val loss per evaluation, written to `path` (PNG)."""
    fig, ax = plt.subplots(figsize=(7, 4))
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
    ax.legend()
    fig.tight_layout()
    tmp = pathlib.Path(path).with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, path)  # readers never see a half-written picture
