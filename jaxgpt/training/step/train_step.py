"""One optimizer step, pure and jitted: `train_step(state, *batch) -> (state, metrics)` over any
loss, with gradient accumulation; and the evaluation step and loss estimate."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec

from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import batch_sharding
from jaxgpt.training.step.optimizer import learning_rate_schedule
from jaxgpt.training.step.state import TrainState, all_finite


def make_train_step(
    loss_fn,
    optimizer: optax.GradientTransformation,
    config: TrainConfig,
    state_sharding=None,
    mesh=None,
    schedule: optax.Schedule | None = None,
):
    """A jitted `train_step(state, *batch) -> (state, metrics)`; each array of the batch is
    [A, B, ...] for A micro-batches, and `loss_fn(params, batch, dropout_key)` scores one.

    With `state_sharding` (the state's leaves' shardings) and the `mesh`, the step is compiled for
    exactly those layouts: the state in and out as given (fsdp included), every batch array split
    over the mesh along B, the metrics replicated. The state is donated: its buffers are reused
    for the new state, so pass each state once.

    A float16 run (`state.loss_scale` set) differentiates loss * scale; a step whose gradients
    overflow leaves the parameters and optimizer state as they were (`jaxgpt.training.step.loss_scale`).
    `schedule`: the optimizer's learning-rate schedule, for the metrics (by default made from `config`)."""
    schedule = learning_rate_schedule(config) if schedule is None else schedule

    def train_step(state: TrainState, *batch_AxB):
        step_key = jax.random.fold_in(jax.random.wrap_key_data(state.rng, impl=config.dropout_rng), state.step)
        scale = 1.0 if state.loss_scale is None else state.loss_scale.scale

        def loss_and_grad(params, batch, key):  # the loss, and the gradient of loss * scale
            scaled_loss, scaled_grads = jax.value_and_grad(lambda p: loss_fn(p, batch, key) * scale)(params)
            return scaled_loss / scale, scaled_grads

        A = batch_AxB[0].shape[0]
        if A == 1:
            loss, grads = loss_and_grad(state.params, tuple(x[0] for x in batch_AxB), step_key)
        else:  # gradient accumulation: average the gradients of A micro-batches in one step

            def micro_step(grads_sum, inputs):
                i, batch_B = inputs
                loss_i, grads_i = loss_and_grad(state.params, batch_B, jax.random.fold_in(step_key, i))
                return jax.tree.map(jnp.add, grads_sum, grads_i), loss_i

            zeros = jax.tree.map(jnp.zeros_like, state.params)
            grads_sum, losses_A = jax.lax.scan(micro_step, zeros, (jnp.arange(A), tuple(batch_AxB)))
            grads, loss = jax.tree.map(lambda g: g / A, grads_sum), losses_A.mean()
        if state.loss_scale is not None:
            grads = state.loss_scale.unscale(grads)
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        new_state = state.replace(
            step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
        )
        if state.loss_scale is not None:  # an overflow: keep the old parameters and moments, halve the scale
            finite = all_finite(grads)

            def keep_if_overflow(new, old):
                return jnp.where(finite, new, old)

            new_state = new_state.replace(
                params=jax.tree.map(keep_if_overflow, new_state.params, state.params),
                opt_state=jax.tree.map(keep_if_overflow, new_state.opt_state, state.opt_state),
                loss_scale=state.loss_scale.adjust(finite),
            )
        metrics = {
            "loss": loss,
            "lr": schedule(state.step),
            "grad_norm": optax.tree.norm(grads),
            "param_norm": optax.tree.norm(new_state.params),
        }
        if state.loss_scale is not None:
            metrics["loss_scale"] = state.loss_scale.scale  # the scale this step used
        return new_state, metrics

    def train_step_on_tuple(state: TrainState, batch_AxB: tuple):
        return train_step(state, *batch_AxB)

    if state_sharding is None:
        jitted = jax.jit(train_step_on_tuple, donate_argnums=0)
    else:
        replicated = NamedSharding(mesh, PartitionSpec())
        jitted = jax.jit(
            train_step_on_tuple,
            # one batch sharding for the whole tuple: it applies to each of its arrays
            in_shardings=(state_sharding, batch_sharding(mesh, batch_axis=1)),
            out_shardings=(state_sharding, replicated),
            donate_argnums=0,
        )

    def step(state: TrainState, *batch_AxB):
        return jitted(state, batch_AxB)

    step.lower = lambda state, *batch_AxB: jitted.lower(state, batch_AxB)  # to compile it ahead (compile_ahead.py)
    return step


def make_eval_step(loss_fn):
    """A jitted `eval_step(params, *batch_B) -> loss`, dropout off."""
    return jax.jit(lambda params, *batch_B: loss_fn(params, batch_B))


def estimate_loss(eval_step, params, batches: dict[str, list]) -> dict:
    """Mean loss over each split's batches, e.g. {"train": [...], "val": [...]}, already on the mesh."""
    losses = {}
    for split, split_batches in batches.items():
        batch_losses = [eval_step(params, *batch) for batch in split_batches]
        losses[split] = float(jnp.mean(jnp.stack(batch_losses)))  # one wait per split
    return losses
