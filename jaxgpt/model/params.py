"""Counting parameters, and casting them for 16-bit compute."""

import math

import jax
import jax.numpy as jnp


def count_params(params) -> int:
    """Number of scalars in a parameter pytree; works on real arrays and on the
    `jax.ShapeDtypeStruct`s of `jax.eval_shape`, so a model can be counted without memory."""
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))


def cast_params(params, dtype):
    """16-bit compute from float32 parameters: the gradient flows back to float32 through the cast."""
    return params if dtype == jnp.float32 else jax.tree.map(lambda p: p.astype(dtype), params)
