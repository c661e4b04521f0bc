"""The train state: parameters, optimizer state, step count and dropout key, one pytree that a
jitted step takes and returns, and that a checkpoint saves whole."""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax

from jaxgpt.training.devices.sharding import leaf_sharding, shard_state
from jaxgpt.training.step.loss_scale import LossScale


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # optimizer steps taken
    params: Any
    opt_state: Any
    rng: jax.Array  # raw key data (uint32); the dropout key of step s is fold_in(rng, s)
    loss_scale: LossScale | None = None  # float16 runs only: their dynamic loss scale


def init_train_state(
    model,
    optimizer: optax.GradientTransformation,
    seed: int,
    example_inputs: tuple,
    params=None,
    dropout_rng: str = "threefry2x32",
    dtype: str = "float32",
) -> TrainState:
    """Step 0: fresh weights from `seed` (the model initialised on `example_inputs`, e.g. a GPT's
    one block of token ids [1, T]), or the given `params` (pretrained ones). Dropout keys come from
    the `dropout_rng` generator (threefry by default; "rbg" is another of JAX's). A float16
    `dtype` (the compute dtype) adds a dynamic loss scale."""
    init_key, dropout_key = jax.random.split(jax.random.key(seed))
    if dropout_rng != "threefry2x32":
        dropout_key = jax.random.key(seed, impl=dropout_rng)
    # jitted: one compiled program each (kept in the compilation cache when it is on), not one
    # small compilation per operation
    if params is None:
        params = jax.jit(model.init)(init_key, *example_inputs)["params"]
    return TrainState(
        step=jnp.array(0, jnp.int32),
        params=params,
        opt_state=jax.jit(optimizer.init)(params),
        rng=jax.random.key_data(dropout_key),
        loss_scale=LossScale.initial() if dtype == "float16" else None,
    )


def abstract_train_state(
    model,
    optimizer: optax.GradientTransformation,
    mesh,
    example_inputs: tuple,
    dropout_rng: str = "threefry2x32",
    dtype: str = "float32",
) -> TrainState:
    """Shapes, dtypes and shardings of a train state on `mesh`: the target to restore into."""
    shapes = jax.eval_shape(
        lambda: init_train_state(model, optimizer, 0, example_inputs, dropout_rng=dropout_rng, dtype=dtype)
    )
    # shardings for *this* mesh: a checkpoint written on another topology restores into it
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=leaf_sharding(s.shape, mesh)), shapes)


@jax.jit
def all_finite(tree) -> jax.Array:
    """True when no leaf of `tree` holds a NaN or an infinity."""
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def with_loss_scale(state: TrainState, dtype: str, mesh) -> TrainState:
    """`state` with the loss scale a `dtype` run needs: a run resumed in another dtype starts or
    drops its scale here (a float16 run resumed in float16 keeps its own)."""
    if dtype == "float16" and state.loss_scale is None:
        return state.replace(loss_scale=shard_state(LossScale.initial(), mesh))
    if dtype != "float16" and state.loss_scale is not None:
        return state.replace(loss_scale=None)
    return state
