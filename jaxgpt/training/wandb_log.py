"""Weights & Biases logging, nanoGPT's `--wandb_log` (an optional extra: pip install -e ".[wandb]"):
the scalars of metrics.jsonl under TensorBoard's tags, the run's configs as W&B's config. Offline
(`WANDB_MODE=offline`) the run stays in OUT_DIR/wandb to sync later."""

from __future__ import annotations

import pathlib

from jaxgpt.training.tensorboard import tagged_scalars


class WandbWriter:
    def __init__(self, out_dir, project: str, run_name: str | None, run_config: dict):
        import wandb

        out_dir = pathlib.Path(out_dir)
        name = run_name or out_dir.resolve().name
        self.run = wandb.init(project=project, name=name, dir=str(out_dir), config=run_config, reinit="create_new")

    def record(self, record: dict) -> None:
        """One line of metrics.jsonl, at its "iter"."""
        scalars = tagged_scalars(record)
        if scalars:
            self.run.log(scalars, step=record["iter"])

    def close(self) -> None:
        self.run.finish()
