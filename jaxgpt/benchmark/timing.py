"""Timing the train step and generation (for scripts/bench.py; speed is never asserted in tests)."""

from __future__ import annotations

import dataclasses
import math
import time

import jax
import numpy as np

from jaxgpt.model.config import GPTConfig
from jaxgpt.decoding.generate import generate
from jaxgpt.model.gpt import GPT
from jaxgpt.training.mfu import flops_per_token, measure_peak_flops, mesh_peak_flops
from jaxgpt.model.params import count_params
from jaxgpt.training.sharding import data_mesh, shard_batch, shard_state
from jaxgpt.training.train_gpt import TrainConfig, init_train_state, language_model_loss, make_optimizer, make_train_step


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
    state = shard_state(init_train_state(model, optimizer, seed=0), mesh)
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
    result = {"ms_per_iter": 1000 * seconds, "tokens_per_sec": tokens_per_sec, "mfu": achieved / mesh_peak_flops(mesh)}
    if jax.default_backend() == "gpu":  # also against the card's own bf16 matmul speed, measured now
        measured = measure_peak_flops(dtype=jax.numpy.bfloat16, size=8192, repeats=20)
        result |= {"measured_peak": measured, "mfu_measured": achieved / mesh_peak_flops(mesh, given=measured)}
    return result


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


def with_block_size(config: GPTConfig, block_size: int) -> GPTConfig:
    return dataclasses.replace(config, block_size=block_size)


# ---- the same work in PyTorch, through transformers' GPT2LMHeadModel (bench.py --vs-torch) ----------


def _torch_gpt2(model_config: GPTConfig):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    hf_config = GPT2Config(
        n_layer=model_config.n_layer,
        n_head=model_config.n_head,
        n_embd=model_config.n_embd,
        n_positions=model_config.block_size,
        vocab_size=model_config.vocab_size,
        resid_pdrop=model_config.dropout,
        embd_pdrop=model_config.dropout,
        attn_pdrop=model_config.dropout,
        activation_function={"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}[model_config.activation],
        bos_token_id=0,
        eos_token_id=0,  # GPT-2's 50256 is outside a character vocabulary
    )
    return GPT2LMHeadModel(hf_config)


def _torch_device_and_autocast(dtype: str):
    """PyTorch's device (CUDA when present) and an autocast context for the compute dtype."""
    import contextlib

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "bfloat16":
        return device, lambda: torch.autocast(device, dtype=torch.bfloat16)
    return device, contextlib.nullcontext


def _torch_sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def time_torch_train_step(
    model_config: GPTConfig, train_config: TrainConfig, iters: int = 30, repeats: int = 3
) -> dict:
    """ms per step of transformers' GPT-2 at the same size, batch, compute dtype (autocast) and
    optimizer (AdamW with decay on >= 2-D parameters, global-norm clipping), on random tokens, on
    CUDA when present (fused AdamW, PyTorch's own scaled_dot_product_attention), after two warm-up
    steps; the fastest of `repeats` windows, as time_train_step."""
    import torch

    device, autocast = _torch_device_and_autocast(train_config.dtype)
    model = _torch_gpt2(model_config).to(device).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": train_config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=train_config.learning_rate,
        betas=(train_config.beta1, train_config.beta2),
        fused=device == "cuda",
    )
    A, B, T = train_config.gradient_accumulation_steps, train_config.batch_size, model_config.block_size
    generator = torch.Generator().manual_seed(0)
    batches = [
        torch.randint(0, model_config.vocab_size, (2, A, B, T), generator=generator).to(device) for _ in range(4)
    ]

    def step(batch):
        for x, y in zip(batch[0], batch[1]):
            with autocast():
                logits = model(input_ids=x).logits
            loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1)) / A
            loss.backward()
        if train_config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for i in range(2):
        step(batches[i])
    _torch_sync(device)

    def window():
        for i in range(iters):
            step(batches[i % len(batches)])
        _torch_sync(device)

    seconds = fastest_seconds(window, repeats) / iters
    return {"ms_per_iter": 1000 * seconds, "tokens_per_sec": A * B * T / seconds, "device": device}


def time_torch_generation(
    model_config: GPTConfig, new_tokens: int, use_cache: bool, repeats: int = 3, dtype: str = "float32"
) -> dict:
    """New tokens per second of transformers' `generate` (top_k 200 sampling, batch 1, one-token prompt)."""
    import torch

    device, autocast = _torch_device_and_autocast(dtype)
    model = _torch_gpt2(model_config).to(device).eval()
    prompt = torch.zeros((1, 1), dtype=torch.long, device=device)
    run = lambda: model.generate(  # noqa: E731
        prompt,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=True,
        top_k=200,
        use_cache=use_cache,
        pad_token_id=0,
    )

    def synced_run():
        run()
        _torch_sync(device)

    with torch.no_grad(), autocast():
        synced_run()  # warm-up
        seconds = fastest_seconds(synced_run, repeats)
    return {"seconds": seconds, "tokens_per_sec": new_tokens / seconds}
