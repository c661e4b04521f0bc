"""Multi-head attention (Vaswani et al. 2017, section 3.2), the heart of the transformer.

Two paths compute the same numbers:
- the readable one, `attention_weights` then `weights @ v`: q k^T, mask, softmax, as in the
  paper's equation 1 and `reference.attention`;
- the fast one, `jax.nn.dot_product_attention`, which XLA or cuDNN may fuse into one kernel.

Masks are boolean, broadcastable to [B, H, T, S], and True where a query may attend to a key.
"""

import math

import flax.linen as nn
import jax
import jax.numpy as jnp

from jaxgpt.errors import InputError
from jaxgpt.model.dense import Dense
from jaxgpt.model.positional import RotaryEmbedding


def causal_mask(T, S=None, offset=None):
    """[T, S] bool, True where query t may see key s: s <= offset + t.

    The T queries sit at positions offset .. offset + T - 1 of the S keys; by default they are
    the last T (offset = S - T). With a KV cache the offset is the number of cached tokens."""
    S = T if S is None else S
    offset = S - T if offset is None else offset
    return jnp.arange(S)[None, :] <= offset + jnp.arange(T)[:, None]


def padding_mask(tokens_BxS, pad_id):
    """[B, 1, 1, S] bool, True at real tokens: broadcasts over heads and queries."""
    return (tokens_BxS != pad_id)[:, None, None, :]


def attention_weights(q_BxHxTxD, k_BxHxSxD, mask=None):
    """softmax(q k^T / sqrt(D)) with masked-out scores set to the most negative number."""
    D = q_BxHxTxD.shape[-1]
    # dividing by sqrt(D) keeps the scores' variance near 1, so softmax does not saturate
    scores_BxHxTxS = jnp.einsum("...td,...sd->...ts", q_BxHxTxD, k_BxHxSxD) / math.sqrt(D)  # q k^T
    scores_BxHxTxS = scores_BxHxTxS.astype(jnp.float32)  # softmax in float32, even in bfloat16 runs
    if mask is not None:
        # the most negative number, not -inf: a fully masked row then stays finite (uniform)
        scores_BxHxTxS = jnp.where(mask, scores_BxHxTxS, jnp.finfo(jnp.float32).min)
    return jax.nn.softmax(scores_BxHxTxS, axis=-1).astype(q_BxHxTxD.dtype)


def attention(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask=None):
    """Scaled dot-product attention. Returns (out [..., T, D], weights [..., T, S])."""
    weights_BxHxTxS = attention_weights(q_BxHxTxD, k_BxHxSxD, mask)
    out_BxHxTxD = weights_BxHxTxS @ v_BxHxSxD  # [T, S] @ [S, D] -> [T, D] for each b, h
    return out_BxHxTxD, weights_BxHxTxS


def fused_attention(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask=None, is_causal=False, implementation="xla"):
    """The numbers of `attention`'s output, from `jax.nn.dot_product_attention`, which XLA or cuDNN
    may fuse into one kernel (no weights are returned: the kernel never forms them). `is_causal`
    replaces a purely causal square mask (cuDNN's causal kernel skips the masked half)."""
    if implementation == "cudnn" and jax.default_backend() != "gpu":
        raise InputError(
            f"attention_impl='cudnn' needs an NVIDIA GPU, but JAX runs on {jax.default_backend()}: use 'xla'"
        )
    if mask is not None:  # the kernel wants a 4-D mask: add leading axes of size 1
        mask = mask.reshape((1,) * (4 - mask.ndim) + mask.shape)
    # the fused kernel wants heads on axis 2: [B, T, H, D]
    out_BxTxHxD = jax.nn.dot_product_attention(
        q_BxHxTxD.transpose(0, 2, 1, 3),
        k_BxHxSxD.transpose(0, 2, 1, 3),
        v_BxHxSxD.transpose(0, 2, 1, 3),
        mask=mask,
        is_causal=is_causal,
        # cuDNN's kernel takes 16-bit inputs only: float32 (initialisation, float32 runs) goes to XLA's
        implementation="xla" if q_BxHxTxD.dtype == jnp.float32 else implementation,
    )
    return out_BxTxHxD.transpose(0, 2, 1, 3)


def attention_with_cache(q_BxHxTxD, cached_k_BHxLxD, cached_v_BHxLxD, offset):
    """Attention of T new tokens, at positions offset .. offset + T - 1, over a KV cache [B * H, L, D]
    that already holds their keys and values: `attention` with the causal mask moved by `offset`,
    so the slots after offset + T - 1, not written yet, are hidden. It runs on the cache's own
    [B * H, ...] layout: a reshape of the cache before the matmuls would make XLA:CPU copy it."""
    B, H, T, D = q_BxHxTxD.shape
    L = cached_k_BHxLxD.shape[1]
    mask_TxL = causal_mask(T, L, offset)
    out_BHxTxD, _ = attention(q_BxHxTxD.reshape(B * H, T, D), cached_k_BHxLxD, cached_v_BHxLxD, mask_TxL)
    return out_BHxTxD.reshape(B, H, T, D)


def split_heads(x_BxTxC, n_head):
    """[B, T, C] -> [B, H, T, D]: each head gets its own D = C // H channels."""
    B, T, C = x_BxTxC.shape
    return x_BxTxC.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(x_BxHxTxD):
    """[B, H, T, D] -> [B, T, C]: concatenate the heads again."""
    B, H, T, D = x_BxHxTxD.shape
    return x_BxHxTxD.transpose(0, 2, 1, 3).reshape(B, T, H * D)


class MultiHeadAttention(nn.Module):
    """Self-attention over x [B, T, C], or cross-attention from x to a context [B, S, C].

    Self-attention projects q, k, v with one fused `c_attn` (C -> 3C, GPT-2's layout);
    cross-attention uses `c_q` on x and `c_kv` on the context. `c_proj` mixes the heads.

    `implementation`: "manual" (the readable path) or "xla"/"cudnn" (`jax.nn.dot_product_attention`).
    The fast path has no attention dropout, so while dropout is active the manual path runs.
    Attention weights [B, H, T, S] are sown into the "intermediates" collection: call
    `apply(..., mutable=["intermediates"])` to get them; that also selects the manual path,
    since only it computes the weights.

    `decode=True` keeps a KV cache in the "cache" collection. Causal self-attention stores the
    keys and values of every token seen so far, up to `max_len`; each call appends its T new
    tokens and attends over everything cached, so generating one token costs one token's work.
    Cross-attention projects the context's keys and values at the first call and reuses them.
    """

    n_head: int
    dropout: float = 0.0
    bias: bool = True
    causal: bool = False  # hide future keys: query t sees keys s <= t
    rotary: bool = False  # turn q and k by their positions (RoPE); self-attention only
    implementation: str = "manual"
    init_std: float = 0.02
    proj_init_std: float = 0.02  # GPT-2 shrinks the residual projection by 1/sqrt(2 * n_layer)
    max_len: int = 0  # length of the KV cache decode=True creates (a caller may resize it: generate does)

    @nn.compact
    def __call__(self, x_BxTxC, context_BxSxC=None, mask=None, deterministic=True, decode=False):
        C = x_BxTxC.shape[-1]
        if C % self.n_head:
            raise InputError(f"width {C} is not divisible by n_head={self.n_head}: choose a multiple of n_head")
        q_BxTxC, k_BxSxC, v_BxSxC = self._project(x_BxTxC, context_BxSxC, decode)
        q_BxHxTxD = split_heads(q_BxTxC, self.n_head)
        k_BxHxSxD = split_heads(k_BxSxC, self.n_head)
        v_BxHxSxD = split_heads(v_BxSxC, self.n_head)
        if decode and context_BxSxC is None:  # self-attention grows its KV cache by the T new tokens
            out_BxHxTxD = self._attend_with_cache(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask)
        else:
            q_BxHxTxD, k_BxHxSxD = self._rotate(q_BxHxTxD, k_BxHxSxD, offset=0)
            out_BxHxTxD = self._attend(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask, deterministic)
        y_BxTxC = self._dense(C, "c_proj", self.proj_init_std)(merge_heads(out_BxHxTxD))
        return nn.Dropout(self.dropout)(y_BxTxC, deterministic=deterministic)

    def _dense(self, features, name, std):
        return Dense(features, use_bias=self.bias, kernel_init=nn.initializers.normal(std), name=name)

    def _project(self, x_BxTxC, context_BxSxC, decode):
        """q from x; k and v from x (self-attention) or from the context (cross-attention)."""
        C = x_BxTxC.shape[-1]
        if context_BxSxC is None:
            qkv_BxTx3C = self._dense(3 * C, "c_attn", self.init_std)(x_BxTxC)
            return jnp.split(qkv_BxTx3C, 3, axis=-1)
        if self.rotary:
            raise InputError("rotary=True applies to self-attention only: do not pass a context")
        q_BxTxC = self._dense(C, "c_q", self.init_std)(x_BxTxC)
        if decode and self.has_variable("cache", "context_kv"):
            # decoding: the context (the encoder's memory) does not change, so its keys and
            # values were projected once, at the first step, and are read back here
            kv_BxSx2C = self.get_variable("cache", "context_kv")
        else:
            kv_BxSx2C = self._dense(2 * C, "c_kv", self.init_std)(context_BxSxC)
            if decode:
                self.put_variable("cache", "context_kv", kv_BxSx2C)
        k_BxSxC, v_BxSxC = jnp.split(kv_BxSx2C, 2, axis=-1)
        return q_BxTxC, k_BxSxC, v_BxSxC

    def _rotate(self, q_BxHxTxD, k_BxHxTxD, offset):
        """RoPE: turn q and k by the positions offset .. offset + T - 1 (when rotary)."""
        if not self.rotary:
            return q_BxHxTxD, k_BxHxTxD
        positions_T = offset + jnp.arange(q_BxHxTxD.shape[2])
        return RotaryEmbedding()(q_BxHxTxD, positions_T), RotaryEmbedding()(k_BxHxTxD, positions_T)

    def _attend(self, q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask, deterministic):
        """Attention of the T queries over the S keys: the readable path, or the fused kernel."""
        T, S = q_BxHxTxD.shape[2], k_BxHxSxD.shape[2]
        # a purely causal square mask goes to the fused kernel as is_causal instead of as an array
        only_causal = self.causal and mask is None and T == S
        if self.causal:
            causal_TxS = causal_mask(T, S)
            mask = causal_TxS if mask is None else jnp.logical_and(mask, causal_TxS)
        dropout_active = not deterministic and self.dropout > 0.0
        wants_weights = self.is_mutable_collection("intermediates")
        if self.implementation == "manual" or dropout_active or wants_weights:
            weights_BxHxTxS = attention_weights(q_BxHxTxD, k_BxHxSxD, mask)
            self.sow("intermediates", "attention_weights", weights_BxHxTxS)
            weights_BxHxTxS = nn.Dropout(self.dropout)(weights_BxHxTxS, deterministic=deterministic)
            return weights_BxHxTxS @ v_BxHxSxD
        mask = None if only_causal else mask
        return fused_attention(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask, only_causal, self.implementation)

    def _attend_with_cache(self, q_BxHxTxD, k_BxHxTxD, v_BxHxTxD, mask):
        """Cache the keys and values of T new tokens, then attend causally over the cache."""
        if not self.causal or self.max_len < 1:
            raise InputError("decode=True needs causal=True and max_len >= 1 (the KV cache length)")
        if mask is not None:
            raise InputError("decode=True takes no mask: the cache attends causally to what it holds")
        B, H, T, D = k_BxHxTxD.shape
        # the cache is kept as [B * H, L, D], the layout the batched matmuls of attention read: with
        # no reshape between the in-place update and its readers, XLA:CPU does not copy it each step
        shape = (B * H, self.max_len, D)
        cached_k = self.variable("cache", "cached_key", jnp.zeros, shape, k_BxHxTxD.dtype)
        cached_v = self.variable("cache", "cached_value", jnp.zeros, shape, v_BxHxTxD.dtype)
        cache_index = self.variable("cache", "cache_index", lambda: jnp.array(0, jnp.int32))
        offset = cache_index.value  # position of the first of the T new tokens
        q_BxHxTxD, k_BxHxTxD = self._rotate(q_BxHxTxD, k_BxHxTxD, offset)
        # store the T new keys and values at positions offset .. offset + T - 1, then attend over the
        # updated cache: nothing reads the old one after the update, so XLA makes it in place
        cached_k.value = jax.lax.dynamic_update_slice(cached_k.value, k_BxHxTxD.reshape(B * H, T, D), (0, offset, 0))
        cached_v.value = jax.lax.dynamic_update_slice(cached_v.value, v_BxHxTxD.reshape(B * H, T, D), (0, offset, 0))
        cache_index.value = offset + T
        return attention_with_cache(q_BxHxTxD, cached_k.value, cached_v.value, offset)
