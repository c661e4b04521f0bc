"""What training writes for people: metrics.jsonl (one JSON object per logged step or
evaluation) and loss.png (the curves so far, redrawn at each evaluation)."""

from __future__ import annotations

import json
import pathlib

from jaxgpt.viz import plot_losses


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
