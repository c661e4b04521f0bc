"""Checkpoints with orbax, verified: the train state as arrays, everything else (configs, tokenizer,
sampler state, losses) as JSON, one folder per step under `out_dir`.

Orbax writes each checkpoint into a temporary folder and renames it only once complete, so a run
killed during a save leaves the previous checkpoints readable and the half-written one ignored.
Just before that rename, jaxgpt adds `jaxgpt-checksums.json` to the folder: the size and SHA-256
of every file orbax wrote. Restoring checks every file against it before orbax reads anything,
so a deleted, truncated or changed file (a flipped bit in the weights included) is found, never
loaded; the newest checkpoint that passes is used instead, with a one-line warning.
Kept: the last `keep` checkpoints and the one with the best validation loss.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import sys
from typing import Any, Callable

import orbax.checkpoint as ocp
from orbax.checkpoint.checkpoint_managers import preservation_policy

from jaxgpt.errors import JaxgptError, is_disk_full
from jaxgpt.training.run.checksums import (
    FORMAT,
    MANIFEST,
    ORBAX_RECORD,
    DamagedCheckpoint,
    check_manifest,
    write_manifest,
)
from jaxgpt.training.run.orbax_quiet import quiet_orbax

# orbax's name for a checkpoint folder being written: the step, then this suffix
ORBAX_TMP_SUFFIX = ".orbax-checkpoint-tmp"


class CheckpointError(JaxgptError):
    """No usable checkpoint where one was asked for, or a save failed; the message says what to do."""


def warn_on_stderr(message: str) -> None:
    print(f"warning: {message}", file=sys.stderr)


def _reason(error: BaseException) -> str:
    """What went wrong, in a few words: tensorstore's messages carry whole JSON specs."""
    text = f"{type(error).__name__}: {error}".splitlines()[0]
    if is_disk_full(error):
        return "no space left on device"
    return text if len(text) <= 200 else text[:200] + "..."


@dataclasses.dataclass
class Restored:
    step: int
    state: Any
    meta: dict
    damaged: dict[int, str]  # checkpoints tried first and skipped: step -> what is wrong with it

    @property
    def losses(self) -> dict | None:
        """The evaluation the checkpoint was saved with ({"train": ..., "val": ...}), if it was saved after one."""
        if self.meta.get("val_loss") is None:
            return None
        return {"train": self.meta["train_loss"], "val": self.meta["val_loss"]}


class Checkpoints:
    """The checkpoints in one folder: `save` after an evaluation, `restore` to resume or sample."""

    def __init__(self, directory, keep: int = 3, warn: Callable[[str], None] = warn_on_stderr):
        self.directory = pathlib.Path(directory).resolve()
        self.keep = keep
        self.warn = warn
        self._saving: int | None = None  # the step whose save may still be running
        quiet_orbax()
        self.manager = self._open()
        # each checkpoint's validation loss, from its metadata (unverified) or from `save`
        self._val_losses = {step: self._read_val_loss(step) for step in self.steps()}

    def _open(self) -> ocp.CheckpointManager:
        # orbax keeps the latest `keep`, and the best by validation loss, which jaxgpt tracks itself:
        # orbax's own metrics file is read, unverified, whenever a manager opens the folder
        policy = preservation_policy.AnyPreservationPolicy([preservation_policy.LatestN(n=self.keep), self])
        options = ocp.CheckpointManagerOptions(
            preservation_policy=policy,
            async_options=ocp.AsyncOptions(post_finalization_callback=self._add_checksums),
        )
        return ocp.CheckpointManager(self.directory, options=options)

    def should_preserve(self, checkpoints, *, context) -> list[bool]:
        """orbax's preservation policy protocol: keep the best checkpoint."""
        best = self.best_step()
        return [checkpoint.step == best for checkpoint in checkpoints]

    def _add_checksums(self) -> None:
        """Runs in orbax's save thread once every file is written, before the folder is renamed."""
        folder = self.directory / f"{self._saving}{ORBAX_TMP_SUFFIX}"
        if not folder.is_dir():
            raise CheckpointError(f"orbax's temporary folder {folder} is not where jaxgpt expects it")
        write_manifest(folder)

    def _kept_text(self, exclude: int | None = None) -> str:
        try:
            kept = [step for step in self.steps() if step != exclude]
        except Exception:  # noqa: BLE001 - the folder itself may be unreadable
            kept = []
        if not kept:
            return "no earlier checkpoint exists"
        return (
            f"checkpoint {kept[0]} is intact"
            if len(kept) == 1
            else f"checkpoints {', '.join(map(str, kept))} are intact"
        )

    def _failed(self, step, error: Exception) -> CheckpointError:
        fix = "Free some disk space" if is_disk_full(error) else "Fix the cause"
        return CheckpointError(
            f"could not save checkpoint {step} in {self.directory} ({_reason(error)}); {self._kept_text(step)}. "
            f"{fix} and resume with --init_from resume"
        )

    def save(self, step: int, state, meta: dict, val_loss: float | None = None) -> None:
        """Write asynchronously: training goes on while the arrays are written out."""
        self.wait()
        self._saving = step
        try:
            saving = self.manager.save(
                step,
                args=ocp.args.Composite(
                    state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave({**meta, "format": FORMAT})
                ),
            )
        except Exception as error:  # noqa: BLE001 - any failure to write is reported the same way
            raise self._failed(step, error) from error
        if not saving:  # orbax declines a step at or below its latest: a checkpoint must never be skipped
            raise CheckpointError(f"checkpoint {step} was not saved: {self.directory} already has {self.steps()}")
        self._val_losses[step] = math.inf if val_loss is None else float(val_loss)

    def wait(self) -> None:
        """Block until the running save, if any, is complete; raise CheckpointError if it failed."""
        try:
            self.manager.wait_until_finished()
        except Exception as error:  # noqa: BLE001
            raise self._failed(self._saving, error) from error

    def steps(self) -> list[int]:
        return list(self.manager.all_steps())

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def best_step(self) -> int | None:
        """The step with the lowest validation loss (as its metadata says: not yet verified)."""
        evaluated = {step: loss for step, loss in self._val_losses.items() if math.isfinite(loss)}
        return min(evaluated, key=evaluated.get, default=None)

    def _read_val_loss(self, step: int) -> float:
        """The validation loss a checkpoint's metadata records (unverified): inf for a checkpoint
        saved without an evaluation (on Ctrl-C), -inf when the metadata cannot be read."""
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception:  # noqa: BLE001 - orbax raises many kinds for a bad file
            return -math.inf
        value = meta.get("val_loss") if isinstance(meta, dict) else None
        return float(value) if isinstance(value, (int, float)) else math.inf

    def candidates(self, checkpoint: str | int = "latest") -> list[int]:
        """The steps to try, in order: the newest first for "latest", the lowest validation loss
        first for "best"; an iteration number is tried alone."""
        self.wait()
        steps = sorted(self.steps(), reverse=True)
        if not steps:
            raise CheckpointError(f"no checkpoint in {self.directory}: train first, or pass another --out_dir")
        if checkpoint == "latest":
            return steps
        if checkpoint == "best":
            # unreadable metadata first: that checkpoint may have been the best, and trying it warns
            return sorted(steps, key=lambda step: self._val_losses.get(step, -math.inf))  # stable: newest first on ties
        if checkpoint not in steps:
            raise CheckpointError(f"no checkpoint for step {checkpoint} in {self.directory}: it has {sorted(steps)}")
        return [checkpoint]

    def _restore_one(self, step: int, abstract_state_for: Callable[[dict], Any]):
        verified = check_manifest(self.directory / str(step))
        try:
            meta = self.manager.restore(step, args=ocp.args.Composite(meta=ocp.args.JsonRestore()))["meta"]
        except Exception as error:  # noqa: BLE001 - orbax raises many kinds for a bad file
            raise DamagedCheckpoint(f"its metadata cannot be read ({type(error).__name__})") from None
        if not isinstance(meta, dict) or meta.get("iter") != step:
            raise DamagedCheckpoint("its metadata is not a jaxgpt checkpoint's")
        if not verified and "format" in meta:
            raise DamagedCheckpoint(f"its {MANIFEST} is missing")
        try:
            abstract_state = abstract_state_for(meta)
        except (KeyError, TypeError, ValueError) as error:
            raise DamagedCheckpoint(f"its metadata does not describe a model ({error})") from None
        try:
            args = ocp.args.Composite(state=ocp.args.StandardRestore(abstract_state))
            state = self.manager.restore(step, args=args)["state"]
        except Exception as error:  # noqa: BLE001
            raise DamagedCheckpoint(f"its arrays cannot be read ({type(error).__name__})") from None
        if not verified:
            self.warn(
                f"checkpoint {step} in {self.directory} has no checksums (an older jaxgpt wrote it): not verified"
            )
        try:
            json.loads((self.directory / str(step) / ORBAX_RECORD).read_text())
        except (OSError, ValueError):
            self.warn(
                f"checkpoint {step} in {self.directory}: orbax's {ORBAX_RECORD} (timestamps only) is missing or "
                "damaged; the arrays and metadata are verified and loaded"
            )
        return state, meta

    def restore(
        self, abstract_state_for: Callable[[dict], Any], checkpoint: str | int = "latest", fallback: bool = True
    ) -> Restored:
        """Restore the checkpoint asked for ("latest", "best" or a step), verified; if it is damaged,
        the next candidate (see `candidates`) with a warning. `abstract_state_for(meta)` gives every
        array's shape, dtype and sharding from the checkpoint's JSON."""
        damaged: dict[int, str] = {}
        for step in self.candidates(checkpoint):
            try:
                state, meta = self._restore_one(step, abstract_state_for)
            except DamagedCheckpoint as problem:
                damaged[step] = str(problem)
                if not fallback:
                    break
                continue
            for bad_step, reason in damaged.items():
                self.warn(f"checkpoint {bad_step} in {self.directory} is damaged ({reason}): using {step} instead")
            return Restored(step, state, meta, damaged)
        found = "; ".join(f"{step}: {reason}" for step, reason in damaged.items())
        raise CheckpointError(
            f"no usable checkpoint in {self.directory} ({found}): train again with another --out_dir "
            "or --move_old_run True"
        )

    def close(self) -> None:
        self.manager.close()
