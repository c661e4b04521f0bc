"""PyTorch's nn.Linear and nn.Embedding in Flax, initialised as PyTorch initialises them.

The video's models train from PyTorch's default initialisation, and where a model starts matters
over a few hundred steps: a bigram table drawn from N(0, 1) starts at a loss near 4.7, Flax's
default embedding (std 1/sqrt(C)) near ln(65) = 4.17. These twins make the Flax stages start where
the video's do; their parameters are named as nn.Dense's and nn.Embed's (`kernel` [in, out],
`bias` [out], `embedding` [N, C]), so a module built from nn.Dense instead fits the same checks.
"""

from __future__ import annotations

import math

import flax.linen as nn
import jax
import jax.numpy as jnp


def uniform(bound: float):
    """An initialiser drawing from U(-bound, bound), nn.Linear's for weights and biases alike."""
    return lambda key, shape, dtype=jnp.float32: jax.random.uniform(key, shape, dtype, -bound, bound)


class Linear(nn.Module):
    """nn.Linear: x [..., I] -> x W + b [..., F]; W [I, F] and b [F] drawn from U(±1/sqrt(I))."""

    features: int
    use_bias: bool = True

    @nn.compact
    def __call__(self, x_BxTxI):
        *leading, n_in = x_BxTxI.shape
        init = uniform(1 / math.sqrt(n_in))
        kernel_IxF = self.param("kernel", init, (n_in, self.features))
        # one [N, I] matrix (N = B * T): XLA on CPU then computes the weight gradient as one plain
        # product, where [B, T, I] made it transpose dy first (jaxgpt.model.dense measured 2x)
        y_NxF = x_BxTxI.reshape(-1, n_in) @ kernel_IxF
        if self.use_bias:
            y_NxF = y_NxF + self.param("bias", init, (self.features,))
        return y_NxF.reshape(*leading, self.features)


class Embedding(nn.Module):
    """nn.Embedding: ids [...] -> rows of a table [num_embeddings, features] drawn from N(0, 1)."""

    num_embeddings: int
    features: int

    @nn.compact
    def __call__(self, ids):
        table = self.param("embedding", jax.nn.initializers.normal(1.0), (self.num_embeddings, self.features))
        return jnp.take(table, ids, axis=0)
