"""The writers a run logs through, in one table. A writer has three methods:

    record(step, scalars)   numbers at a step: {"loss": ..., "lr": ...} or {"val_loss": ...}
    text(step, name, text)  a text at a step (the closing sample)
    close()                 write out what is buffered (redraw loss.png, flush the events)

and a constructor that takes the run folder and the step a resumed run restored (its later records
are dropped: those steps are trained again). `WRITERS` lists each with the files it keeps in the
run folder (the run folder's own list of what is a run's is made from it), when a run wants it and
the package it needs. Adding a logger is one class in this room and one entry here."""

from __future__ import annotations

import dataclasses
import importlib.util
import pathlib
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
    """The writers a run wants, written to together."""

    def __init__(self, writers: list):
        self.writers = writers

    def record(self, step: int, scalars: dict) -> None:
        for writer in self.writers:
            writer.record(step, scalars)

    def text(self, step: int, name: str, text: str) -> None:
        for writer in self.writers:
            writer.text(step, name, text)

    def close(self) -> None:
        for writer in self.writers:
            writer.close()


def open_writers(out_dir, config: TrainConfig, run_config: dict, resumed_at: int | None = None) -> Writers:
    out_dir = pathlib.Path(out_dir)
    return Writers(
        [kind.open(out_dir, config, run_config, resumed_at) for kind in WRITERS.values() if kind.wanted(config)]
    )
