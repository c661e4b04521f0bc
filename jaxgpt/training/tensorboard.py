"""TensorBoard event files in every run folder (`OUT_DIR/tensorboard`), written with tensorboardX:
the lightest well-kept writer that needs no TensorFlow (Flax's and clu's writers import it).
`tensorboard --logdir OUT_DIR` shows the run's scalars and the closing sample.

A resumed run trains the steps after its checkpoint again; its writer starts with a purge marker
at the first of them, so TensorBoard drops the earlier events of those steps and every step
appears once."""

from __future__ import annotations

import pathlib
import time

# metrics.jsonl's keys -> TensorBoard's tags
TAGS = {
    "loss": "train/loss",
    "train_loss": "eval/train_loss",
    "val_loss": "eval/val_loss",
    "lr": "train/learning_rate",
    "grad_norm": "train/grad_norm",
    "param_norm": "train/param_norm",
    "loss_scale": "train/loss_scale",
    "tokens_per_sec": "speed/tokens_per_sec",
    "ms_per_iter": "speed/ms_per_iter",
    "mfu": "speed/mfu",
}


def tagged_scalars(record: dict) -> dict:
    """The numbers of one metrics.jsonl record under their TensorBoard tags (None values left out)."""
    return {TAGS[key]: value for key, value in record.items() if key in TAGS and isinstance(value, (int, float))}


class TensorBoardWriter:
    def __init__(self, out_dir, purge_step: int | None = None):
        self.path = pathlib.Path(out_dir) / "tensorboard"
        self.purge_step = purge_step
        self._writer = None

    def _open(self):
        if self._writer is None:
            from tensorboardX import SummaryWriter

            # a suffix of its own, in the order of opening: two writers opened within one second must
            # neither share a file name nor be read in the wrong order (TensorBoard reads files by name)
            suffix = f".{time.time_ns()}"
            self._writer = SummaryWriter(
                str(self.path), purge_step=self.purge_step, flush_secs=10, filename_suffix=suffix
            )
        return self._writer

    def record(self, record: dict) -> None:
        """One line of metrics.jsonl as scalars at its "iter"."""
        for tag, value in tagged_scalars(record).items():
            self._open().add_scalar(tag, value, record["iter"])

    def scalar(self, tag: str, value: float, step: int) -> None:
        self._open().add_scalar(tag, value, step)

    def text(self, tag: str, text: str, step: int) -> None:
        self._open().add_text(tag, text, step)

    def purge_after(self, step: int) -> None:
        """Write the marker that makes TensorBoard drop the events of every step after `step`."""
        self.purge_step = step + 1
        self._open()
        self.close()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
