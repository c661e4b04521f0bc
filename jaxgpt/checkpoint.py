"""Checkpoints with orbax: the train state as arrays, everything else (configs, tokenizer,
sampler state, losses) as JSON, one folder per step under `out_dir`.

Orbax writes each checkpoint into a temporary folder and renames it only once complete, so a
run killed during a save leaves the previous checkpoints readable and the half-written one
ignored. Kept: the last `keep` checkpoints and the one with the best validation loss.
"""

from __future__ import annotations

import logging
import pathlib

import jax
import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import preservation_policy

# orbax logs every save and restore at INFO level; training prints its own progress
logging.getLogger("absl").setLevel(logging.WARNING)


class CheckpointError(Exception):
    """No usable checkpoint where one was asked for; the message says what to do."""


class Checkpoints:
    """The checkpoints in one folder: `save` after an evaluation, `restore` to resume or sample."""

    def __init__(self, directory, keep: int = 3, create: bool = True):
        self.directory = pathlib.Path(directory).resolve()
        if not create and not self.directory.is_dir():
            raise CheckpointError(f"{directory} does not exist: train first, or pass the --out_dir of a training run")
        policy = preservation_policy.AnyPreservationPolicy(
            [
                preservation_policy.LatestN(n=keep),
                preservation_policy.BestN(
                    get_metric_fn=lambda metrics: -metrics["val_loss"], n=1, keep_checkpoints_without_metrics=False
                ),
            ]
        )
        options = ocp.CheckpointManagerOptions(
            preservation_policy=policy,
            best_fn=lambda metrics: metrics["val_loss"],
            best_mode="min",
            create=create,
        )
        self.manager = ocp.CheckpointManager(self.directory, options=options)

    def save(self, step: int, state, meta: dict, val_loss: float | None = None) -> None:
        """Write asynchronously: training goes on while the arrays are written out."""
        self.manager.save(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)),
            metrics=None if val_loss is None else {"val_loss": float(val_loss)},
        )

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        return self.manager.best_step()

    def _step_or_latest(self, step):
        step = self.latest_step() if step is None else step
        if step is None:
            raise CheckpointError(f"no checkpoint in {self.directory}: train first, or pass another --out_dir")
        if step not in self.steps():
            raise CheckpointError(f"no checkpoint for step {step} in {self.directory}: it has {self.steps()}")
        return step

    def restore_meta(self, step: int | None = None) -> dict:
        """The JSON part of a checkpoint (default: the latest)."""
        self.wait()
        step = self._step_or_latest(step)
        return self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]

    def restore(self, abstract_state, step: int | None = None):
        """(state, meta) of a checkpoint; `abstract_state` gives every array's shape, dtype and sharding."""
        self.wait()
        step = self._step_or_latest(step)
        restored = self.manager.restore(
            step,
            args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state), meta=ocp.args.JsonRestore()),
        )
        return restored["state"], restored["meta"]

    def close(self) -> None:
        self.manager.close()


def abstract(tree):
    """Shapes, dtypes and shardings of a pytree of arrays, without their values."""
    return jax.tree.map(ocp.utils.to_shape_dtype_struct, tree)
