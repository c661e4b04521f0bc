"""The out_dir of a training run: one run per folder, and nothing written before training starts.

A run folder holds one run: `config.json` (what is trained), `metrics.jsonl` and `loss.png` (how it
went) and the checkpoints (one folder per iteration). A new run never writes into a folder that
holds another run's files: it stops first, in one line, and names the ways on (resume that run,
choose another --out_dir, or --move_old_run to rename the old run's folder; nothing is deleted).
The folder is created only when training is about to start, so a run that fails to start (no
data, a bad flag) leaves nothing behind.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import tempfile

import jax
from jax.experimental import multihost_utils

from jaxgpt.atomic import write_atomically
from jaxgpt.errors import InputError, reported_os_errors
from jaxgpt.training.checkpoint import ORBAX_TMP_SUFFIX, Checkpoints, Restored
from jaxgpt.training.distributed import is_main_process
from jaxgpt.training.metrics import MetricsLog

CONFIG = "config.json"
RUN_FILES = (CONFIG, "metrics.jsonl", "loss.png", "tensorboard", "wandb", "profile")  # profile: --profile's traces
# the script that trains (and resumes) each kind of run
TRAINERS = {"gpt": "scripts/train.py", "seq2seq": "scripts/train_seq2seq.py"}
WHAT = {"gpt": "a GPT run", "seq2seq": "an encoder-decoder (seq2seq) run"}


@dataclasses.dataclass
class RunFiles:
    """The writers of a started run: its checkpoints (every process) and, on process 0, its metrics
    (metrics.jsonl and loss.png). config.json is written by `RunDir.start` itself."""

    checkpoints: Checkpoints | None  # None: a benchmark that only logs
    metrics: MetricsLog | None


class RunDirError(InputError):
    """The out_dir cannot be used as asked; the message says why and what to do."""


class RunDir:
    def __init__(self, path):
        self.path = pathlib.Path(path)

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
            if config.get("kind", "gpt") not in TRAINERS:
                raise InputError(f"kind {config['kind']!r} is not one of {', '.join(TRAINERS)}")
        except (ValueError, UnicodeDecodeError, OSError) as error:
            raise RunDirError(
                f"{path} is not a jaxgpt run's config ({error}): put the original back, or move it away "
                "(the checkpoints hold the run's configuration too)"
            ) from None
        return config

    def check_kind(self, kind: str, doing: str) -> None:
        """The folder's run must be of `kind` (a GPT run given to the seq2seq trainer is an error)."""
        config = self.read_config()
        found = None if config is None else config.get("kind", "gpt")
        if found is not None and found != kind:
            raise RunDirError(f"{self.path} holds {WHAT[found]}, not {WHAT[kind]}: {doing} with {TRAINERS[found]}")

    def check_new_run(self, move_old_run: bool) -> None:
        """A new run may start here: the folder holds no run, or the old one is to be moved aside."""
        self.check_location()
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

    def check_resumable(self, kind: str) -> None:
        if not self.path.is_dir():
            raise RunDirError(f"--init_from resume: {self.path} does not exist; train first, or fix --out_dir")
        self.check_location()
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
        if config.init_from == "resume":
            run.check_resumable(kind)
        elif not config.eval_only:  # evaluating writes nothing
            run.check_new_run(move_old_run)
        return run

    def resume(self, config, abstract_state_for) -> Restored:
        """Restore the newest checkpoint that verifies (see Checkpoints.restore); nothing changes
        in the folder until `start`."""
        checkpoints = Checkpoints(self.path, keep=config.keep_checkpoints)
        restored = checkpoints.restore(abstract_state_for)
        checkpoints.close()
        if not config.eval_only and restored.step >= config.max_iters:
            raise RunDirError(
                f"{self.path} is already at iteration {restored.step}, max_iters={config.max_iters}: "
                "raise --max_iters to continue"
            )
        return restored

    def start(
        self, config, run_config: dict, move_old_run: bool = False, echo=print, restored: Restored | None = None
    ) -> RunFiles | None:
        """Make the folder the run's, now that training is about to start, and open its writers.
        A new run: create the folder (moving an old run aside first, if asked). A resumed one
        (`restored`): move damaged newer checkpoints aside and cut metrics.jsonl back to the
        restored step, so the folder again describes one run. Both: write config.json
        (`run_config`). Evaluating alone writes nothing and opens no checkpoints."""
        if config.eval_only:
            return None
        _all_processes_here("jaxgpt-checked")  # every process has read the folder before it changes
        if is_main_process():
            with reported_os_errors(f"prepare the run folder {self.path}", "free some disk space or fix --out_dir"):
                self._make_the_run_folder(run_config, move_old_run, echo, restored)
        _all_processes_here("jaxgpt-started")
        # opened by every process (orbax's manager is collective) once the folder is as it will stay
        checkpoints = Checkpoints(self.path, keep=config.keep_checkpoints)
        if not is_main_process():
            return RunFiles(checkpoints, None)
        wandb = None
        if config.wandb_log:
            from jaxgpt.training.wandb_log import WandbWriter

            wandb = WandbWriter(self.path, config.wandb_project, config.wandb_run_name, run_config)
        return RunFiles(checkpoints, MetricsLog(self.path, wandb=wandb))

    def _make_the_run_folder(self, run_config: dict, move_old_run: bool, echo, restored: Restored | None) -> None:
        if move_old_run and restored is None and self.run_contents():
            aside = self.aside_path()
            self.path.rename(aside)
            echo(f"moved the old run in {self.path} to {aside}")
        self.path.mkdir(parents=True, exist_ok=True)
        if restored is not None:
            for moved in self.set_aside(restored.damaged):
                echo(f"moved the damaged checkpoint to {moved}")
            MetricsLog(self.path).keep_until(restored.step)
        write_atomically(self.path / CONFIG, json.dumps(run_config, indent=2))

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


def _all_processes_here(name: str) -> None:
    """In a multi-process run, wait until every process reaches this point (process 0 has just
    changed the shared folder)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
