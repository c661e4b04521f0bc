"""Weights & Biases logging, nanoGPT's `--wandb_log` (an optional extra: pip install -e ".[wandb]"):
a writer (see writers.py) of the scalars of metrics.jsonl under TensorBoard's tags, with the run's
configs as W&B's config. Offline (`WANDB_MODE=offline`) the run stays in OUT_DIR/wandb to sync later."""

from __future__ import annotations

import html
import pathlib

from jaxgpt.training.logs.tensorboard import tagged_scalars


class WandbWriter:
    FILES = ("wandb",)

    def __init__(self, out_dir, project: str, run_name: str | None, run_config: dict):
        import wandb

        out_dir = pathlib.Path(out_dir)
        name = run_name or out_dir.resolve().name
        self._html = wandb.Html
        self.run = wandb.init(project=project, name=name, dir=str(out_dir), config=run_config, reinit="create_new")

    def record(self, step: int, scalars: dict) -> None:
        tagged = tagged_scalars(scalars)
        if tagged:
            self.run.log(tagged, step=step)

    def text(self, step: int, name: str, text: str) -> None:
        self.run.log({name: self._html(f"<pre>{html.escape(text)}</pre>")}, step=step)

    def flush(self) -> None:
        """W&B's own process sends what is logged as it comes."""

    def close(self) -> None:
        if self.run is not None:
            self.run.finish()
            self.run = None
