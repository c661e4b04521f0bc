"""The writers a run logs through, in one table. A writer has four methods:

    record(step, scalars)   numbers at a step: {"loss": ..., "lr": ...} or {"val_loss": ...}
    text(step, name, text)  a text at a step (the closing sample)
    flush()                 training paused or ended: write out what is buffered, redraw loss.png
    close()                 the same, and release the files

and a constructor that takes the run folder and the step a resumed run restored (its later records
are dropped: those steps are trained again). `WRITERS` lists each with the files it keeps in the
run folder (the run folder's own list of what is a run's is made from it), when a run wants it and
the package it needs. Adding a logger is one class in this room and one entry here."""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
import queue
import threading
from typing import Callable

from jaxgpt.errors import InputError
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.logs.metrics_file import MetricsLog
from jaxgpt.training.logs.tensorboard import TensorBoardWriter
from jaxgpt.training.logs.wandb_log import WandbWriter


@dataclasses.dataclass(frozen=True)
class WriterKind:
    files: tuple[str, ...]  # what it keeps in the run folder
    wanted: Callable[[TrainConfig], bool]
    open: Callable  # (out_dir, config, run_config, resumed_at) -> a writer
    flag: str = ""  # the setting that asks for it, when it is optional
    needs: str | None = None  # a package that is not a dependency of jaxgpt
    install: str = ""  # how to get it


WRITERS = {
    "metrics.jsonl": WriterKind(
        MetricsLog.FILES,
        lambda config: True,
        lambda out_dir, config, run_config, resumed_at: MetricsLog(out_dir, resumed_at),
    ),
    "tensorboard": WriterKind(
        TensorBoardWriter.FILES,
        lambda config: True,
        lambda out_dir, config, run_config, resumed_at: TensorBoardWriter(out_dir, resumed_at),
    ),
    "wandb": WriterKind(
        WandbWriter.FILES,
        lambda config: config.wandb_log,
        lambda out_dir, config, run_config, resumed_at: WandbWriter(
            out_dir, config.wandb_project, config.wandb_run_name, run_config
        ),
        flag="wandb_log",
        needs="wandb",
        install='pip install -e ".[wandb]" (or pip install wandb)',
    ),
}
WRITER_FILES = tuple(name for kind in WRITERS.values() for name in kind.files)


def check_writers(config: TrainConfig) -> None:
    """Every writer the run wants can start here: checked before anything is loaded or written."""
    for kind in WRITERS.values():
        if kind.wanted(config) and kind.needs and importlib.util.find_spec(kind.needs) is None:
            raise InputError(
                f"{kind.flag}=True needs the {kind.needs} package: {kind.install}; or pass --{kind.flag} False "
                "(its checkpoints sample and evaluate without it)"
            )


class Writers:
    """The writers a run wants, written to together on a thread of their own: a logged step costs
    the training loop one queue entry, while metrics.jsonl, TensorBoard and W&B are written beside
    it. One thread takes the calls first in, first out, so every writer sees them in order.
    `close()` waits until all is written; fit() calls it however training ends (its end, an error,
    Ctrl-C), so nothing logged is lost. A writer's error (a full disk) is raised in the caller's
    thread, at its next call or at `close()`."""

    def __init__(self, writers: list):
        self.writers = writers
        self._calls = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="jaxgpt-writers", daemon=True)
        self._thread.start()

    def record(self, step: int, scalars: dict) -> None:
        self._call("record", step, scalars)

    def text(self, step: int, name: str, text: str) -> None:
        self._call("text", step, name, text)

    def flush(self) -> None:
        """Ask for what is buffered to be written out and loss.png redrawn, without waiting."""
        self._call("flush")

    def close(self) -> None:
        """Write out every call made so far, close the writers, and wait until they are done."""
        if self._thread.is_alive():
            self._calls.put(("close",))
            self._thread.join()
        self._raise_error()

    def _call(self, method: str, *args) -> None:
        self._raise_error()
        self._calls.put((method, *args))

    def _raise_error(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def _write(self) -> None:
        while True:
            method, *args = self._calls.get()
            for writer in self.writers:
                try:
                    getattr(writer, method)(*args)
                except BaseException as error:  # handed to the training loop's thread
                    self._error = self._error or error
            if method == "close":
                return


def open_writers(out_dir, config: TrainConfig, run_config: dict, resumed_at: int | None = None) -> Writers:
    out_dir = pathlib.Path(out_dir)
    return Writers(
        [kind.open(out_dir, config, run_config, resumed_at) for kind in WRITERS.values() if kind.wanted(config)]
    )
