"""Starting a run in its folder, once training is about to begin: the folder made the run's
(an old run moved aside if asked, damaged checkpoints set aside when resuming, config.json
written) and its writers opened: checkpoints on every process, the logs on process 0."""

from __future__ import annotations

import dataclasses
import json

import jax
from jax.experimental import multihost_utils

from jaxgpt.atomic import write_atomically
from jaxgpt.errors import reported_os_errors
from jaxgpt.training.devices.distributed import is_main_process
from jaxgpt.training.logs.writers import Writers, open_writers
from jaxgpt.training.run.checkpoint import Checkpoints, Restored
from jaxgpt.training.run.folder import CONFIG, RunDir


@dataclasses.dataclass
class RunFiles:
    """The writers of a started run: its checkpoints (every process) and, on process 0, its logs
    (metrics.jsonl, loss.png, TensorBoard, W&B). config.json is written by `start_run` itself."""

    checkpoints: Checkpoints | None  # None: a benchmark that only logs
    writers: Writers | None


def start_run(
    run: RunDir, config, run_config: dict, move_old_run: bool = False, echo=print, restored: Restored | None = None
) -> RunFiles | None:
    """Make `run`'s folder the run's, now that training is about to start, and open its writers.
    A new run: create the folder (moving an old run aside first, if asked). A resumed one
    (`restored`): move damaged newer checkpoints aside and open the writers at the restored
    step (they drop what came after it), so the folder again describes one run. Both: write config.json
    (`run_config`). Evaluating alone writes nothing and opens no checkpoints."""
    if config.eval_only:
        return None
    _all_processes_here("jaxgpt-checked")  # every process has read the folder before it changes
    if is_main_process():
        with reported_os_errors(f"prepare the run folder {run.path}", "fix --out_dir"):
            _make_the_run_folder(run, run_config, move_old_run, echo, restored)
    _all_processes_here("jaxgpt-started")
    # opened by every process (orbax's manager is collective) once the folder is as it will stay
    checkpoints = Checkpoints(run.path, keep=config.keep_checkpoints)
    if not is_main_process():
        return RunFiles(checkpoints, None)
    resumed_at = None if restored is None else restored.step
    return RunFiles(checkpoints, open_writers(run.path, config, run_config, resumed_at))


def _make_the_run_folder(run: RunDir, run_config: dict, move_old_run: bool, echo, restored: Restored | None) -> None:
    if move_old_run and restored is None and run.run_contents():
        aside = run.aside_path()
        run.path.rename(aside)
        run.lock.moved_aside(aside)  # the lock file went with the old run: lock the new folder
        echo(f"moved the old run in {run.path} to {aside}")
    run.path.mkdir(parents=True, exist_ok=True)
    if restored is not None:
        for moved in run.set_aside(restored.damaged):
            echo(f"moved the damaged checkpoint to {moved}")
    write_atomically(run.path / CONFIG, json.dumps(run_config, indent=2))


def _all_processes_here(name: str) -> None:
    """In a multi-process run, wait until every process reaches this point (process 0 has just
    changed the shared folder)."""
    if jax.process_count() > 1:
        multihost_utils.sync_global_devices(name)
