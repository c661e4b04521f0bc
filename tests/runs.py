"""Helpers for tests that run training as a user does, in its own process: the flags of a tiny
run, the reference run those flags describe, and what a run folder holds afterwards."""

import json
import os
import pathlib
import subprocess
import sys
import time

import jax
import numpy as np

from jaxgpt import GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.recipes import TRAIN_RECIPES
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.train_gpt import train

ROOT = pathlib.Path(__file__).resolve().parents[1]
PRESET = "shakespeare-char-cpu"  # what scripts/train.py trains on a CPU when no --preset is given
# a tiny model with dropout (so resuming must also restore the random stream), a fixed schedule
MODEL_FLAGS = {"n_layer": 1, "n_head": 2, "n_embd": 16, "block_size": 16, "dropout": 0.1}
TRAIN_FLAGS = {
    "data_file": ROOT / "tests" / "data" / "tinyshakespeare.txt",
    "batch_size": 4,
    "eval_iters": 1,
    "log_interval": 1,
    "warmup_iters": 2,
    "lr_decay_iters": 200,
    "peak_flops": 1e11,  # MFU against a given peak: no matrix multiplies timed in each process
}


# the in-process runs of test_checkpoint and test_run_dir: no dropout, a checkpoint every 10 iterations
SMALL = GPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16)


def small_run_config(out_dir, **overrides) -> TrainConfig:
    fields = dict(
        out_dir=str(out_dir),
        data_file=str(TRAIN_FLAGS["data_file"]),
        batch_size=4,
        eval_interval=10,
        eval_iters=1,
        log_interval=1,
        max_iters=20,
        warmup_iters=0,
        lr_decay_iters=40,
        always_save_checkpoint=True,
    )
    return TrainConfig(**{**fields, **overrides})


def flags(**train_flags) -> list[str]:
    return [f"--{name}={value}" for name, value in {**MODEL_FLAGS, **TRAIN_FLAGS, **train_flags}.items()]


def train_config(out_dir, **train_flags) -> TrainConfig:
    """The TrainConfig scripts/train.py makes of flags(out_dir=out_dir, **train_flags)."""
    given = {name: str(value) if isinstance(value, pathlib.Path) else value for name, value in TRAIN_FLAGS.items()}
    return TrainConfig(**{**TRAIN_RECIPES[PRESET], **given, **train_flags, "out_dir": str(out_dir)})


def reference_run(out_dir, **train_flags):
    """What scripts/train.py with flags(**train_flags) trains, uninterrupted, in this process."""
    model = GPTConfig.from_preset(PRESET, **MODEL_FLAGS)
    return train(train_config(out_dir, **train_flags), model, progress=False, echo=lambda *_: None)


def resumed_to_the_end(out_dir, **train_flags):
    """scripts/train.py --init_from resume with flags(**train_flags), in this process."""
    config = train_config(out_dir, **train_flags, init_from="resume")
    return train(config, progress=False, echo=lambda *_: None)


def start(script, *args) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def records(out_dir) -> list[dict]:
    path = pathlib.Path(out_dir) / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def wait_for_step(process: subprocess.Popen, out_dir, step: int, timeout: float = 120) -> None:
    """Wait until the run has logged `step` (it must still be running)."""
    deadline = time.time() + timeout
    while not any(r.get("iter", -1) >= step and "loss" in r for r in records(out_dir)):
        assert process.poll() is None, process.communicate()[1][-2000:]
        assert time.time() < deadline, f"no step {step} logged in {timeout} s"
        time.sleep(0.02)


def evaluations(out_dir) -> list[int]:
    return [r["iter"] for r in records(out_dir) if "val_loss" in r]


def step_losses(out_dir) -> dict:
    """iter -> training loss, checking that no step was logged twice."""
    steps = [r["iter"] for r in records(out_dir) if "loss" in r]
    assert len(steps) == len(set(steps)), "a step appears twice in metrics.jsonl"
    return {r["iter"]: r["loss"] for r in records(out_dir) if "loss" in r}


def assert_same_run(out_dir, reference_dir, reference_params) -> None:
    """The run in out_dir ended with bitwise the weights and per-step losses of the reference."""
    _, params, _, _ = restore_model(out_dir, "latest")
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(reference_params)):
        np.testing.assert_array_equal(a, b)
    assert step_losses(out_dir) == step_losses(reference_dir)
    assert len(evaluations(out_dir)) == len(set(evaluations(out_dir)))  # no evaluation logged twice
