"""Three ways to tell the model where each token is, and `POSITIONS`, the one table of them.

- `LearnedPositionalEmbedding`: a trained vector per position (GPT-2's `wpe`).
- `SinusoidalPositionalEncoding`: fixed sines and cosines (Vaswani et al. 2017, section 3.5).
- `RotaryEmbedding`: turn queries and keys by a position-dependent angle (RoPE, Su et al. 2021),
  so that attention scores depend on relative offsets only.

`GPTConfig(position=...)` accepts exactly the names of `POSITIONS`, and the models ask the table
what to do, never the name. A new kind is one entry here and its NumPy twin in
`reference.POSITIONS` (tests/test_positional.py proves the two tables agree).
"""

from collections.abc import Callable
from typing import NamedTuple

import flax.linen as nn
import jax.numpy as jnp


class LearnedPositionalEmbedding(nn.Module):
    """positions [T] -> embeddings [T, C], looked up in a [block_size, C] table."""

    block_size: int
    n_embd: int
    init_std: float = 0.02

    @nn.compact
    def __call__(self, positions_T):
        table_PxC = self.param("embedding", nn.initializers.normal(self.init_std), (self.block_size, self.n_embd))
        return table_PxC[positions_T]


class SinusoidalPositionalEncoding(nn.Module):
    """positions [T] -> encodings [T, C]: PE(pos, 2i) = sin(pos / 10000^(2i/C)), PE(pos, 2i+1) = cos(...).

    No parameters; computed for any position, so no table length to outgrow."""

    n_embd: int

    def __call__(self, positions_T):
        channel_C = jnp.arange(self.n_embd)
        i_C = channel_C // 2  # channels 2i and 2i+1 share one frequency
        angles_TxC = jnp.asarray(positions_T, jnp.float32)[:, None] / 10000.0 ** (2 * i_C / self.n_embd)
        return jnp.where(channel_C % 2 == 0, jnp.sin(angles_TxC), jnp.cos(angles_TxC))


def rotate_half(x_BxHxTxD):
    """[x1, x2] -> [-x2, x1] on the two halves of D: a 90-degree turn of each (x1_i, x2_i) pair."""
    x1, x2 = jnp.split(x_BxHxTxD, 2, axis=-1)
    return jnp.concatenate([-x2, x1], axis=-1)


class RotaryEmbedding(nn.Module):
    """Turn each channel pair (i, i + D/2) of q or k [B, H, T, D] by angle position * base^(-2i/D).

    Since q_m . k_n after turning by m and n equals q . R(n - m) k, the score sees only the offset."""

    base: float = 10000.0

    def __call__(self, x_BxHxTxD, positions_T):
        D = x_BxHxTxD.shape[-1]
        inv_freq_D2 = self.base ** (-jnp.arange(0, D, 2, dtype=jnp.float32) / D)
        angles_TxD2 = jnp.asarray(positions_T, jnp.float32)[:, None] * inv_freq_D2
        angles_TxD = jnp.concatenate([angles_TxD2, angles_TxD2], axis=-1)
        rotated_BxHxTxD = x_BxHxTxD * jnp.cos(angles_TxD) + rotate_half(x_BxHxTxD) * jnp.sin(angles_TxD)
        return rotated_BxHxTxD.astype(x_BxHxTxD.dtype)


class PositionKind(NamedTuple):
    """What one kind of position encoding does to the model."""

    # (block_size, n_embd, name) -> a module taking positions [T] to [T, C], added to the token
    # embeddings; None: nothing is added
    embedding: Callable[..., nn.Module] | None
    rotary: bool = False  # turn queries and keys by their positions in every self-attention (RoPE)


POSITIONS: dict[str, PositionKind] = {
    "learned": PositionKind(  # GPT-2
        embedding=lambda block_size, n_embd, name=None: LearnedPositionalEmbedding(block_size, n_embd, name=name)
    ),
    "sinusoidal": PositionKind(  # the 2017 paper
        embedding=lambda block_size, n_embd, name=None: SinusoidalPositionalEncoding(n_embd, name=name)
    ),
    "rotary": PositionKind(embedding=None, rotary=True),  # positions enter through q and k only
}
