"""TensorBoard event files in every run folder (`OUT_DIR/tensorboard`), written with tensorboardX:
the lightest well-kept writer that needs no TensorFlow (Flax's and clu's writers import it).
`tensorboard --logdir OUT_DIR` shows the run's scalars and the closing sample.

A resumed run trains the steps after its checkpoint again; its writer starts with a purge marker
at the first of them, so TensorBoard drops the earlier events of those steps and every step
appears once."""

from __future__ import annotations

import pathlib
import sys
import time

from jaxgpt.errors import reported_os_errors

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


def import_tensorboardx():
    """tensorboardX's modules, imported without PyTorch: where torch is installed (Colab, Kaggle,
    a machine with the test extras) tensorboardX imports it only to accept torch tensors, which
    jaxgpt never logs, and that import costs ~2 s at the start of every run."""
    if "torch" in sys.modules:  # imported already: nothing to save
        import tensorboardX.summary

        return tensorboardX
    sys.modules["torch"] = None  # `import torch` raises ImportError, and tensorboardX goes on without it
    try:
        import tensorboardX.summary
    finally:
        del sys.modules["torch"]
    return tensorboardX


def tagged_scalars(scalars: dict) -> dict:
    """The numbers of one metrics.jsonl record under their TensorBoard tags (None values left out);
    any other score (a task's closing exact_match_greedy, ...) goes under eval/."""
    return {TAGS.get(key, f"eval/{key}"): value for key, value in scalars.items() if isinstance(value, (int, float))}


class TensorBoardWriter:
    """A writer (see writers.py) of OUT_DIR/tensorboard. `resumed_at`: the step a resumed run
    restored; the events of later steps are dropped by a purge marker at the first of them."""

    FILES = ("tensorboard",)

    def __init__(self, out_dir, resumed_at: int | None = None):
        self.path = pathlib.Path(out_dir) / "tensorboard"
        self.purge_step = None if resumed_at is None else resumed_at + 1
        self._writer = None

    def _open(self):
        if self._writer is None:
            tensorboardx = import_tensorboardx()

            # a suffix of its own, in the order of opening: two writers opened within one second must
            # neither share a file name nor be read in the wrong order (TensorBoard reads files by name)
            suffix = f".{time.time_ns()}"
            self._writer = tensorboardx.SummaryWriter(
                str(self.path), purge_step=self.purge_step, flush_secs=10, filename_suffix=suffix
            )
        return self._writer

    def record(self, step: int, scalars: dict) -> None:
        """The scalars of a step as one event (one value per tag), not an event per scalar."""
        with reported_os_errors(f"write {self.path}", "fix the folder and resume with --init_from resume"):
            writer, Summary = self._open(), import_tensorboardx().summary.Summary
            # the protocol buffer add_scalar would make, without its checks of each value (floats already)
            values = [Summary.Value(tag=tag, simple_value=float(v)) for tag, v in tagged_scalars(scalars).items()]
            if values:
                writer._get_file_writer().add_summary(Summary(value=values), step)

    def text(self, step: int, name: str, text: str) -> None:
        self._open().add_text(name, text, step)

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Write out the buffered events (a resumed run that logged nothing still writes its purge marker)."""
        if self.purge_step is not None:
            self._open()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self.purge_step = None
