"""Counting parameters."""

import math

import jax


def count_params(params) -> int:
    """Number of scalars in a parameter pytree; works on real arrays and on the
    `jax.ShapeDtypeStruct`s of `jax.eval_shape`, so a model can be counted without memory."""
    return sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(params))
