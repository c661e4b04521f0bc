"""The out_dir of a training run: one run per folder, and nothing written before training starts.

A run folder holds one run: `config.json` (what is trained), `metrics.jsonl` and `loss.png` (how it
went) and the checkpoints (one folder per iteration). A new run never writes into a folder that
holds another run's files: it stops first, in one line, and names the ways on (resume that run,
choose another --out_dir, or --move_old_run to rename the old run's folder; nothing is deleted).
The folder is held by one run at a time (lock.py): two runs started together into one folder
cannot both write there; start.py makes it the run's when training begins. A run that fails to
start (no data, a bad flag) leaves nothing behind.
"""

from __future__ import annotations

import json
import pathlib
import tempfile

from jaxgpt.errors import InputError
from jaxgpt.training.devices.distributed import is_main_process
from jaxgpt.training.kinds import KINDS, kind_of
from jaxgpt.training.logs.writers import WRITER_FILES
from jaxgpt.training.run.checkpoint import ORBAX_TMP_SUFFIX, Checkpoints, Restored
from jaxgpt.training.run.lock import LOCK_FILE, RunLock

CONFIG = "config.json"
RUN_FILES = (CONFIG, *WRITER_FILES, "profile")  # profile: --profile's traces


class RunDirError(InputError):
    """The out_dir cannot be used as asked; the message says why and what to do."""


class RunDir:
    def __init__(self, path):
        self.path = pathlib.Path(path)
        self.lock = RunLock(self.path)  # taken by a run that trains here, for its whole life

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Let go of the folder (the run ended, or failed to start)."""
        self.lock.release()

    def check_location(self) -> None:
        """The folder (or the first existing folder above it) must be a writable folder."""
        existing = self.path
        while not existing.exists() and existing != existing.parent:
            existing = existing.parent
        if not existing.is_dir():
            where = "is a file" if existing == self.path else f"is under {existing}, which is a file"
            raise RunDirError(f"--out_dir {self.path} {where}, not a folder: pass the path of a folder")
        try:
            with tempfile.TemporaryFile(dir=existing):
                pass
        except OSError as error:
            raise RunDirError(
                f"--out_dir {self.path} is not writable ({error.strerror or error}): choose a folder you can write to"
            ) from None

    def checkpoint_steps(self) -> list[int]:
        if not self.path.is_dir():
            return []
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit() and p.is_dir())

    def run_contents(self) -> list[str]:
        """What of a run this folder holds: its files, checkpoints and half-written checkpoints."""
        if not self.path.is_dir():
            return []
        names = [name for name in RUN_FILES if (self.path / name).exists()]
        steps = self.checkpoint_steps()
        if steps:
            names.append(f"checkpoint{'s' if len(steps) > 1 else ''} {', '.join(map(str, steps))}")
        if any(ORBAX_TMP_SUFFIX in p.name for p in self.path.iterdir()):
            names.append("a half-written checkpoint")
        return names

    def other_contents(self) -> list[str]:
        """What this folder holds that is not a run's: the user's own files."""

        def of_a_run(name: str) -> bool:
            return (
                name in RUN_FILES
                or name == LOCK_FILE
                or name.isdigit()
                or name.startswith("damaged-")
                or ORBAX_TMP_SUFFIX in name
                or any(name.startswith(f".{run_file}.") for run_file in RUN_FILES)  # a write cut short
            )

        return sorted(p.name for p in self.path.iterdir() if not of_a_run(p.name)) if self.path.is_dir() else []

    def read_config(self) -> dict | None:
        """config.json, checked; None when the folder has none."""
        path = self.path / CONFIG
        if not path.exists():
            return None
        try:
            config = json.loads(path.read_text())
            if not isinstance(config, dict) or not isinstance(config.get("model"), dict):
                raise InputError("it has no model section")
            kind_of(config)
        except (ValueError, UnicodeDecodeError, OSError) as error:
            raise RunDirError(
                f"{path} is not a jaxgpt run's config ({error}): put the original back, or move it away "
                "(the checkpoints hold the run's configuration too)"
            ) from None
        return config

    def check_kind(self, kind: str, doing: str) -> None:
        """The folder's run must be of `kind` (a GPT run given to the seq2seq trainer is an error)."""
        config = self.read_config()
        found = None if config is None else kind_of(config)
        if found is not None and found.name != kind:
            raise RunDirError(f"{self.path} holds {found.what}, not {KINDS[kind].what}: {doing} with {found.script}")

    def check_new_run(self, move_old_run: bool) -> None:
        """A new run may start here (its location checked already): the folder holds no run, or the
        old one is to be moved aside."""
        contents = self.run_contents()
        if not contents:
            return
        try:
            self.read_config()
        except RunDirError:
            raise RunDirError(
                f"--out_dir {self.path} holds a config.json that is not a jaxgpt run's: choose another --out_dir"
            ) from None
        if not move_old_run:
            resume = "--init_from resume to continue it, " if self.checkpoint_steps() else ""
            raise RunDirError(
                f"--out_dir {self.path} already holds a run ({', '.join(contents)}): pass {resume}another "
                f"--out_dir, or --move_old_run True to rename that folder to {self.aside_path()} (nothing is deleted)"
            )
        others = self.other_contents()
        if others:
            raise RunDirError(
                f"--move_old_run: {self.path} also holds files that are not the run's ({', '.join(others[:5])}): "
                "move them out first, or choose another --out_dir"
            )

    def check_exists(self) -> None:
        if not self.path.is_dir():
            raise RunDirError(f"--init_from resume: {self.path} does not exist; train first, or fix --out_dir")

    def check_resumable(self, kind: str) -> None:
        self.check_exists()
        self.check_location()
        self.check_resumed_run(kind)

    def check_resumed_run(self, kind: str) -> None:
        """The folder (there, and writable) holds a run of `kind` with a checkpoint."""
        self.check_kind(kind, "resume it")
        if not self.checkpoint_steps():
            raise RunDirError(f"--init_from resume: no checkpoint in {self.path}; train first, or fix --out_dir")

    def check_readable(self, kind: str, doing: str) -> None:
        if not self.path.is_dir():
            raise RunDirError(f"{self.path} does not exist: train first, or pass the --out_dir of a training run")
        self.check_kind(kind, doing)

    def aside_path(self) -> pathlib.Path:
        path, n = self.path.resolve(), 1  # resolved: "." has no name to add .old-1 to
        while (candidate := path.with_name(f"{path.name}.old-{n}")).exists():
            n += 1
        return candidate

    @classmethod
    def for_training(cls, config, kind: str, move_old_run: bool = False) -> "RunDir":
        """The run folder of `config` (a TrainConfig), checked before anything is loaded or written:
        resuming needs a run of this kind with checkpoints; a new run needs a folder without one."""
        run = cls(config.out_dir)
        if config.eval_only:  # evaluating writes nothing, and reads only verified checkpoints
            if config.init_from == "resume":
                run.check_resumable(kind)
            return run
        resuming = config.init_from == "resume"
        try:
            if resuming:
                run.check_exists()
            run.check_location()
            if is_main_process():  # held by process 0 for the whole run; the others follow it
                run.lock.acquire("resume it" if resuming else "train")
            if resuming:
                run.check_resumed_run(kind)  # what the folder holds, read once it is ours
            else:
                run.check_new_run(move_old_run)
        except BaseException:
            run.close()
            raise
        return run

    def resume(self, config, abstract_state_for) -> Restored:
        """Restore the newest checkpoint that verifies (see Checkpoints.restore); nothing changes
        in the folder until `start_run`."""
        checkpoints = Checkpoints(self.path, keep=config.keep_checkpoints)
        restored = checkpoints.restore(abstract_state_for)
        checkpoints.close()
        if not config.eval_only and restored.step >= config.max_iters:
            raise RunDirError(
                f"{self.path} is already at iteration {restored.step}, max_iters={config.max_iters}: "
                "raise --max_iters to continue"
            )
        return restored

    def set_aside(self, steps) -> list[pathlib.Path]:
        """Move damaged checkpoints out of orbax's sight, to damaged-STEP folders: never deleted."""
        moved = []
        for step in steps:
            target, n = self.path / f"damaged-{step}", 1
            while target.exists():
                n += 1
                target = self.path / f"damaged-{step}-{n}"
            (self.path / str(step)).rename(target)
            moved.append(target)
        return moved
