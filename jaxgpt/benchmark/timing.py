"""Timing jaxgpt's train step and generation (for scripts/bench.py; speed is never asserted in tests)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import math
import tempfile
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.data.dataset import Dataset, token_dtype
from jaxgpt.data.tokenizer import CharTokenizer
from jaxgpt.decoding.generate import generate
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.params import count_params
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.mfu import flops_per_token, measure_peak_flops, mesh_peak_flops, shown_mfu
from jaxgpt.training.devices.precision import resolve_dtype
from jaxgpt.training.devices.sharding import data_mesh, shard_batch, shard_state
from jaxgpt.training.logs.metrics_file import MetricsLog
from jaxgpt.training.logs.writers import Writers
from jaxgpt.training.loop import TrainingLoop
from jaxgpt.training.run.start import RunFiles
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.optimizer import learning_rate_schedule, make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step
from jaxgpt.training.train_gpt import language_model_task


def fastest_seconds(run, repeats: int) -> float:
    """Seconds of the fastest of `repeats` calls of `run` (which must wait for its own work to
    finish): the fastest is the run least disturbed by the rest of the machine."""
    seconds = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        seconds = min(seconds, time.perf_counter() - start)
    return seconds


def time_train_step(model_config: GPTConfig, train_config: TrainConfig, iters: int = 30, repeats: int = 3) -> dict:
    """ms per optimizer step (the fastest of `repeats` windows of `iters` steps), tokens/s and MFU
    on random tokens, after one compiling step."""
    model, optimizer, mesh = GPT(model_config), make_optimizer(train_config), data_mesh()
    T = model_config.block_size
    inputs, dtype = (np.zeros((1, T), np.int32),), resolve_dtype(train_config.dtype)
    state = shard_state(init_train_state(model, optimizer, 0, inputs, dtype=dtype), mesh)
    step = make_train_step(
        language_model_loss(model, train_config),
        optimizer,
        train_config,
        jax.tree.map(lambda a: a.sharding, state),
        mesh,
    )
    A, B, T = train_config.gradient_accumulation_steps, train_config.batch_size, model_config.block_size
    rng = np.random.default_rng(0)
    batches = [
        shard_batch(tuple(rng.integers(0, model_config.vocab_size, (A, B, T), dtype=np.int32) for _ in "xy"), mesh, 1)
        for _ in range(4)
    ]
    state, metrics = step(state, *batches[0])  # compile
    jax.block_until_ready(metrics)

    def window():
        nonlocal state, metrics
        for i in range(iters):
            state, metrics = step(state, *batches[i % len(batches)])
        jax.block_until_ready((state, metrics))

    seconds = fastest_seconds(window, repeats) / iters
    n_params = count_params(state.params)
    tokens_per_sec = A * B * T / seconds
    achieved = tokens_per_sec * flops_per_token(n_params, model_config.n_layer, model_config.n_embd, T)
    result = {
        "ms_per_iter": 1000 * seconds,
        "tokens_per_sec": tokens_per_sec,
        "mfu": shown_mfu(achieved, mesh_peak_flops(mesh)),
    }
    if jax.default_backend() == "gpu":  # also against the card's own bf16 matmul speed, measured now
        measured = measure_peak_flops(dtype=jax.numpy.bfloat16, size=8192, repeats=20)
        result |= {"measured_peak": measured, "mfu_measured": achieved / mesh_peak_flops(mesh, given=measured)}
    return result


def random_dataset(vocab_size: int, n_tokens: int, seed: int = 0) -> Dataset:
    """Random token ids, with a character tokenizer of `vocab_size` symbols: data for timing only."""
    rng = np.random.default_rng(seed)
    dtype = token_dtype(vocab_size)
    tokenizer = CharTokenizer("".join(chr(0x100 + i) for i in range(vocab_size)))
    train, val = (rng.integers(0, vocab_size, n, dtype=dtype) for n in (n_tokens, n_tokens // 10))
    return Dataset(train, val, tokenizer)


def time_training_loop(model_config: GPTConfig, train_config: TrainConfig, iters: int = 200) -> dict:
    """ms per iteration of the real training loop as it measures itself (metrics.jsonl's
    ms_per_iter: sampling, prefetching, the step, reading the loss; evaluations excluded), the
    median and the fastest of its log windows after the first (which compiles); on random tokens,
    nothing saved."""
    T = model_config.block_size
    config = dataclasses.replace(
        train_config,
        max_iters=iters,
        lr_decay_iters=max(iters, train_config.warmup_iters + 1),
        eval_interval=iters,
        eval_iters=1,
        eval_only=False,
    )
    data = random_dataset(model_config.vocab_size, max(200_000, 20 * T))
    task = language_model_task(config, model_config, data)
    schedule, mesh = learning_rate_schedule(config), data_mesh()
    optimizer = make_optimizer(config, schedule)
    state = shard_state(init_train_state(task.model, optimizer, 0, task.example_inputs), mesh)
    with tempfile.TemporaryDirectory() as folder:
        log = MetricsLog(folder)
        evaluations = io.StringIO()  # the loop's evaluation lines are not the benchmark's
        with contextlib.redirect_stdout(evaluations):
            files = RunFiles(None, Writers([log]))
            TrainingLoop(config, task, state, optimizer, schedule, mesh, files, None, 1.0, progress=False).run()
            files.writers.close()  # every record written
        for line in evaluations.getvalue().splitlines():
            if line.startswith("profile "):
                print(line)
        windows = [r["ms_per_iter"] for r in log.records() if "ms_per_iter" in r][1:]
    return {"ms_per_iter": float(np.median(windows)), "fastest_ms_per_iter": min(windows), "windows": len(windows)}


def measure_read_bandwidth(megabytes: int = 256, repeats: int = 5) -> float:
    """Bytes per second this device reads: a sum over a float32 array of `megabytes`, larger than
    any cache, the fastest of `repeats`."""
    x = jnp.ones(megabytes * 2**20 // 4, jnp.float32)
    total = jax.jit(jnp.sum)
    total(x).block_until_ready()  # compile
    return x.nbytes / fastest_seconds(lambda: total(x).block_until_ready(), repeats)


def weight_bytes(model_config: GPTConfig, dtype=jnp.float32) -> int:
    """Bytes of a GPT's parameters in `dtype`: what batch-1 decoding reads for every new token."""
    shapes = jax.eval_shape(GPT(model_config).init, jax.random.key(0), jnp.zeros((1, 1), jnp.int32))["params"]
    return count_params(shapes) * jnp.dtype(dtype).itemsize


def time_generation(
    model_config: GPTConfig,
    new_tokens: int,
    use_cache: bool,
    batch_size: int = 1,
    prompt_length: int = 1,
    repeats: int = 3,
) -> dict:
    """New tokens per second of `generate`, the best of `repeats` runs after a compiling one
    (random weights: the speed does not depend on them)."""
    model = GPT(model_config)
    prompt = np.zeros((batch_size, prompt_length), np.int32)
    params = model.init(jax.random.key(0), prompt)["params"]
    run = lambda: generate(
        model, params, prompt, new_tokens, rng=jax.random.key(0), top_k=200, use_cache=use_cache
    ).block_until_ready()
    run()  # compile
    seconds = fastest_seconds(run, repeats)
    return {"seconds": seconds, "tokens_per_sec": batch_size * new_tokens / seconds}
