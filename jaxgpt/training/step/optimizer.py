"""The optimizer: global-norm clipping, then AdamW whose weight decay skips biases and LayerNorm
parameters, following a warmup-cosine (nanoGPT) or inverse-square-root (2017 paper) schedule."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import optax

from jaxgpt.errors import InputError
from jaxgpt.training.config import TrainConfig


def noam_schedule(peak: float, warmup: int) -> optax.Schedule:
    """The 2017 paper's d_model^-0.5 * min(n^-0.5, n * warmup^-1.5) at step n = count + 1, scaled so it
    peaks at `peak` when n = warmup (the paper's base model peaks at (512 * 4000)^-0.5 = 7.0e-4)."""

    def schedule(count):
        n = jnp.asarray(count, jnp.float32) + 1.0
        return peak * math.sqrt(warmup) * jnp.minimum(n**-0.5, n * warmup**-1.5)

    return schedule


def learning_rate_schedule(config: TrainConfig) -> optax.Schedule:
    if not config.decay_lr:
        return optax.constant_schedule(config.learning_rate)
    if config.lr_schedule == "noam":
        return noam_schedule(config.learning_rate, config.warmup_iters)
    # nanoGPT's get_lr: learning_rate * (it + 1) / (warmup_iters + 1) while warming up, so step 0
    # already learns (from lr / (W + 1), reaching lr at W), then cosine from lr to min_lr at lr_decay_iters
    return optax.warmup_cosine_decay_schedule(
        init_value=config.learning_rate / (config.warmup_iters + 1),
        peak_value=config.learning_rate,
        warmup_steps=config.warmup_iters,
        decay_steps=max(config.lr_decay_iters, 1),
        end_value=config.min_lr,
    )


def make_optimizer(config: TrainConfig, schedule: optax.Schedule | None = None) -> optax.GradientTransformation:
    """Global-norm clipping, then AdamW whose weight decay skips biases and LayerNorm (1-D) parameters,
    following `schedule` (by default `learning_rate_schedule(config)`)."""
    adamw = optax.adamw(
        learning_rate_schedule(config) if schedule is None else schedule,
        b1=config.beta1,
        b2=config.beta2,
        weight_decay=config.weight_decay,
        mask=lambda params: jax.tree.map(lambda p: p.ndim >= 2, params),
    )
    if config.grad_clip > 0:
        return optax.chain(optax.clip_by_global_norm(config.grad_clip), adamw)
    return adamw


def check_optimizer_fits(opt_state, params, optimizer: optax.GradientTransformation, out_dir) -> None:
    """A restored optimizer state must have the shape this optimizer's takes (turning gradient
    clipping on or off changes it): otherwise say so now, not at the first step."""
    expected = jax.eval_shape(optimizer.init, params)
    if jax.tree.structure(expected) != jax.tree.structure(opt_state):
        raise InputError(
            f"the optimizer settings differ from those the checkpoint in {out_dir} was trained with (turning "
            f"--grad_clip on or off changes the optimizer's state): resume with the run's own, in {out_dir}/config.json"
        )
