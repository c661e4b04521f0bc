"""The video's self-attention: `Head` (one head, causal) and `MultiHeadAttention` (heads side by side)."""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgpt.study.codealong.config import CodeAlongConfig
from jaxgpt.study.codealong.layers import Linear


class Head(nn.Module):
    """One causal self-attention head: x [B, T, C] -> [B, T, D]; `key`, `query`, `value` C -> D, no bias."""

    config: CodeAlongConfig
    head_size: int

    @nn.compact
    def __call__(self, x_BxTxC, train: bool = False):
        T = x_BxTxC.shape[1]
        k_BxTxD = Linear(self.head_size, use_bias=False, name="key")(x_BxTxC)
        q_BxTxD = Linear(self.head_size, use_bias=False, name="query")(x_BxTxC)
        # scaled by the head size: without it the scores' variance grows with D and softmax saturates
        wei_BxTxT = q_BxTxD @ jnp.swapaxes(k_BxTxD, -1, -2) * self.head_size**-0.5
        tril_TxT = jnp.tril(jnp.ones((T, T), bool))
        wei_BxTxT = jnp.where(tril_TxT, wei_BxTxT, -jnp.inf)  # a token may not look at the future
        wei_BxTxT = jax.nn.softmax(wei_BxTxT, axis=-1)
        wei_BxTxT = nn.Dropout(self.config.dropout, deterministic=not train)(wei_BxTxT)
        v_BxTxD = Linear(self.head_size, use_bias=False, name="value")(x_BxTxC)
        return wei_BxTxT @ v_BxTxD


class MultiHeadAttention(nn.Module):
    """`num_heads` heads `heads_0`, `heads_1`, ... concatenated: x [B, T, C] -> [B, T, H * D], then,
    with config.residual, `proj` (H * D -> C) and dropout, as the video adds them with the residual."""

    config: CodeAlongConfig
    num_heads: int
    head_size: int
    head_class: type | None = None  # your Head in place of this file's

    @nn.compact
    def __call__(self, x_BxTxC, train: bool = False):
        head_class = self.head_class or Head
        heads = [head_class(self.config, self.head_size, name=f"heads_{i}") for i in range(self.num_heads)]
        out_BxTxHD = jnp.concatenate([head(x_BxTxC, train) for head in heads], axis=-1)
        if not self.config.residual:
            return out_BxTxHD
        out_BxTxC = Linear(self.config.n_embd, name="proj")(out_BxTxHD)
        return nn.Dropout(self.config.dropout, deterministic=not train)(out_BxTxC)
