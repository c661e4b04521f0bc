"""The video's "mathematical trick": each position's average of itself and the positions before it,
three ways. The third, a softmax over masked scores, is self-attention with all scores equal."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np


def average_loop(x_BxTxC):
    """xbow[b, t] = mean(x[b, :t + 1]): two loops, the definition. x [B, T, C] -> [B, T, C]"""
    x_BxTxC = np.asarray(x_BxTxC)
    B, T, C = x_BxTxC.shape
    xbow_BxTxC = np.zeros((B, T, C), x_BxTxC.dtype)
    for b in range(B):
        for t in range(T):
            xbow_BxTxC[b, t] = x_BxTxC[b, : t + 1].mean(axis=0)
    return xbow_BxTxC


def average_matmul(x_BxTxC):
    """The same as one matrix product: wei [T, T] is lower-triangular, each row summing to 1."""
    T = x_BxTxC.shape[1]
    wei_TxT = jnp.tril(jnp.ones((T, T)))
    wei_TxT = wei_TxT / wei_TxT.sum(axis=1, keepdims=True)
    return wei_TxT @ x_BxTxC  # [T, T] @ [B, T, C]: the product broadcasts over the batch


def average_softmax(x_BxTxC):
    """The same through a softmax: zeros where a position may look, -inf at the future."""
    T = x_BxTxC.shape[1]
    tril_TxT = jnp.tril(jnp.ones((T, T)))
    wei_TxT = jnp.where(tril_TxT == 0, -jnp.inf, jnp.zeros((T, T)))
    wei_TxT = jax.nn.softmax(wei_TxT, axis=-1)  # exp(-inf) = 0; equal scores share the weight equally
    return wei_TxT @ x_BxTxC
