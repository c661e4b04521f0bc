"""Token embeddings: row `i` of a [V, C] table for token id `i`, as `nn.Embed` (same parameters,
`attend` for the tied output layer), with a faster gradient for small vocabularies.

The gradient of a lookup adds each token's output gradient into its row: a scatter-add. When
few rows take many tokens, as with characters (tiny Shakespeare's 65, spaces and `e`s most of
all), a GPU serialises the colliding additions: on an H200 that scatter took 15 of the 22 ms of
a shakespeare-char step. The same sums are a matrix product, onehot(ids)ᵀ [V, N] @ grad [N, C],
which has no collisions; for a vocabulary of up to `MATMUL_GRADIENT_MAX_VOCAB` tokens it is also
cheap. Larger vocabularies (GPT-2's 50257) keep the scatter: their tokens spread over many rows,
and the one-hot product would cost as much as the output layer."""

import flax.linen as nn
import jax
import jax.numpy as jnp

MATMUL_GRADIENT_MAX_VOCAB = 1024


@jax.custom_vjp
def lookup_with_matmul_gradient(table_VxC, idx_BxT):
    """table[idx]: [B, T, C]; its gradient for the table is onehot(idx)ᵀ @ grad, not a scatter-add."""
    return jnp.take(table_VxC, idx_BxT, axis=0)


def _lookup_forward(table_VxC, idx_BxT):
    return lookup_with_matmul_gradient(table_VxC, idx_BxT), (table_VxC, idx_BxT)


def _lookup_backward(saved, grad_BxTxC):
    table_VxC, idx_BxT = saved
    V, C = table_VxC.shape
    onehot_NxV = jax.nn.one_hot(idx_BxT.reshape(-1), V, dtype=grad_BxTxC.dtype)
    # HIGHEST: each product is exact (x1 or x0) and the sums float32 ones, as the scatter's
    grad_VxC = jnp.matmul(onehot_NxV.T, grad_BxTxC.reshape(-1, C), precision=jax.lax.Precision.HIGHEST)
    return grad_VxC.astype(table_VxC.dtype), None  # token ids have no gradient


lookup_with_matmul_gradient.defvjp(_lookup_forward, _lookup_backward)


class TokenEmbedding(nn.Embed):
    """`nn.Embed` (the parameter `embedding` [V, C], `attend` for logits) whose lookup's gradient
    is a matrix product when the vocabulary has at most MATMUL_GRADIENT_MAX_VOCAB tokens."""

    def __call__(self, idx_BxT):
        if self.num_embeddings > MATMUL_GRADIENT_MAX_VOCAB or self.dtype is not None:
            return super().__call__(idx_BxT)
        if not jnp.issubdtype(jnp.asarray(idx_BxT).dtype, jnp.integer):
            raise ValueError("token ids must be integers")
        return lookup_with_matmul_gradient(self.embedding, idx_BxT)
