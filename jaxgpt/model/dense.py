"""The linear layer of every projection: `flax.linen.Dense` applied to the tokens as one [N, C] matrix.

The numbers and parameters (`kernel` [C, F], `bias` [F]) are nn.Dense's. Flattening the leading
axes first (N = B * T) makes the weight gradient of the backward pass one plain matrix product,
x^T @ dy over [N, C] and [N, F]; with [B, T, C] inputs, XLA on CPU copies dy into a transposed
layout first, which made the whole training step about twice as slow.
"""

import flax.linen as nn


class Dense(nn.Dense):
    """nn.Dense over [..., C] -> [..., F], computed on the [N, C] matrix of all positions."""

    def __call__(self, x_NxC):  # any leading axes, flattened into N
        *leading, C = x_NxC.shape
        y_NxF = super().__call__(x_NxC.reshape(-1, C))
        return y_NxF.reshape(*leading, y_NxF.shape[-1])
