"""GPT: the decoder-only transformer in GPT-2's layout (Radford et al. 2019), nanoGPT's `model.py` in Flax."""

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.errors import InputError
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.embedding import TokenEmbedding
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.model.positional import POSITIONS


class GPT(nn.Module):
    """Token ids [B, T] -> next-token logits [B, T, V].

    Embed tokens (`wte`) and positions (`wpe`, or RoPE inside attention: the kind's entry in
    `positional.POSITIONS` says which), run `n_layer` causal pre-LN blocks (`h_0` ...), normalise
    (`ln_f`) and score every vocabulary entry with the token embedding itself (weight tying,
    so there is no separate `lm_head`). Parameter names are GPT-2's checkpoint
    keys. Init is GPT-2's: normal(0.02), and residual projections (`c_proj`) normal(0.02 /
    sqrt(2 * n_layer)) so the residual stream's variance does not grow with depth.

    `decode=True` runs with a KV cache (the "cache" collection, `block_size` long): the first
    call takes the prompt, each later call the next token(s); positions continue from the cache.
    """

    config: GPTConfig

    @nn.compact
    def __call__(self, idx_BxT, deterministic=True, decode=False):
        c = self.config
        T = idx_BxT.shape[1]
        if T > c.block_size:
            raise InputError(
                f"sequence length {T} exceeds block_size={c.block_size}: "
                f"crop the input to its last {c.block_size} tokens"
            )
        offset = 0  # position of the first token: 0, or the number of tokens already cached
        if decode:
            cache_index = self.variable("cache", "position", lambda: jnp.array(0, jnp.int32))
            offset = cache_index.value
            cache_index.value = offset + T
        positions_T = offset + jnp.arange(T)

        wte = TokenEmbedding(c.vocab_size, c.n_embd, embedding_init=nn.initializers.normal(0.02), name="wte")
        x_BxTxC = wte(idx_BxT)
        position = POSITIONS[c.position]  # what this kind adds here, and whether attention turns q and k
        if position.embedding is not None:
            wpe = position.embedding(c.block_size, c.n_embd, name="wpe")
            x_BxTxC = x_BxTxC + wpe(positions_T)  # [B, T, C] + [T, C]
        x_BxTxC = nn.Dropout(c.dropout)(x_BxTxC, deterministic=deterministic)
        # remat: keep only each block's input for the backward pass and recompute the rest there
        # (deterministic and decode, arguments 5 and 6 counting self, stay Python values)
        Block = nn.remat(TransformerBlock, static_argnums=(5, 6)) if c.remat and not decode else TransformerBlock
        for i in range(c.n_layer):
            x_BxTxC = Block(
                n_head=c.n_head,
                d_ff=4 * c.n_embd,
                dropout=c.dropout,
                bias=c.bias,
                causal=True,
                norm_first=True,
                rotary=position.rotary,
                activation=c.activation,
                attention_impl=c.attention_impl,
                layer_norm_epsilon=c.layer_norm_epsilon,
                proj_init_std=0.02 / math.sqrt(2 * c.n_layer),
                max_len=c.block_size,
                name=f"h_{i}",
            )(x_BxTxC, None, None, None, deterministic, decode)  # x, mask, context, context_mask, ...
        x_BxTxC = LayerNorm(epsilon=c.layer_norm_epsilon, use_bias=c.bias, name="ln_f")(x_BxTxC)
        # [B*T, C] @ [C, V]: on the flattened tokens, as in Dense, for a faster weight gradient
        logits_NxV = wte.attend(x_BxTxC.reshape(-1, c.n_embd))
        return logits_NxV.reshape(*idx_BxT.shape, c.vocab_size)  # [B, T, V]
