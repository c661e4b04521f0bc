"""Helpers for the tests of the command lines: the flags of a tiny model, a script run in its own
process as a user runs it, a script's main run in this process as `run()` runs it, and the error a
full disk raises."""

import errno
import os
import pathlib
import re
import subprocess
import sys

import pytest

from jaxgpt.cli.run import run

ROOT = pathlib.Path(__file__).resolve().parents[1]
# a tiny model, and MFU against a given peak: the CPU's measured one (matrix multiplies, ~0.4 s a
# process) is not what these tests look at (test_mfu.py measures it)
TINY_FLAGS = [
    *["--n_layer=1", "--n_head=2", "--n_embd=32", "--block_size=32", "--batch_size=4", "--eval_iters=2"],
    "--peak_flops=1e11",
]


def script(name, *args) -> subprocess.CompletedProcess:
    """scripts/NAME run with `args` in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        check=False,  # the tests read the exit code
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def run_main(monkeypatch, capsys, main, *argv, script="train.py"):
    """(exit code, the one line it said) of a script's main run as the script runs it; a progress
    bar (a training run that got going, a prepare reading its files) may come before the line, nothing else."""
    monkeypatch.setattr(sys, "argv", [script, *argv])
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    lines = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.strip()]
    bar = re.compile(r"[\d.]+[kMGT]?/[\d.]+[kMGT]? \[")  # n/total [, also in bytes: 0.00/43.0 [ or 1.2M/3.4G [
    assert lines and not any(bar.search(line) is None for line in lines[:-1]), lines
    return exit_info.value.code, lines[-1]


def no_space_left(folder: pathlib.Path) -> OSError:
    """The error writing a checkpoint's checksums into `folder` raises on a full disk."""
    return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "jaxgpt-checksums.json"))
