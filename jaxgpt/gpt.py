"""GPT: the decoder-only transformer in GPT-2's layout (Radford et al. 2019), nanoGPT's `model.py` in Flax."""

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.block import TransformerBlock
from jaxgpt.config import GPTConfig
from jaxgpt.layernorm import LayerNorm
from jaxgpt.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding


class GPT(nn.Module):
    """Token ids [B, T] -> next-token logits [B, T, V].

    Embed tokens (`wte`) and positions (`wpe`), run `n_layer` causal pre-LN blocks (`h_0` ...),
    normalise (`ln_f`) and score every vocabulary entry with the token embedding itself
    (weight tying, so there is no separate `lm_head`). Parameter names are GPT-2's checkpoint
    keys. Init is GPT-2's: normal(0.02), and residual projections (`c_proj`) normal(0.02 /
    sqrt(2 * n_layer)) so the residual stream's variance does not grow with depth.
    """

    config: GPTConfig

    def setup(self):
        c = self.config
        self.wte = nn.Embed(c.vocab_size, c.n_embd, embedding_init=nn.initializers.normal(0.02))
        if c.position == "learned":
            self.wpe = LearnedPositionalEmbedding(c.block_size, c.n_embd)
        elif c.position == "sinusoidal":
            self.wpe = SinusoidalPositionalEncoding(c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.h = [  # a list in setup names the blocks h_0, h_1, ...
            TransformerBlock(
                n_head=c.n_head,
                d_ff=4 * c.n_embd,
                dropout=c.dropout,
                bias=c.bias,
                causal=True,
                norm_first=True,
                rotary=c.position == "rotary",
                activation=c.activation,
                attention_impl=c.attention_impl,
                layer_norm_epsilon=c.layer_norm_epsilon,
                proj_init_std=0.02 / math.sqrt(2 * c.n_layer),
            )
            for _ in range(c.n_layer)
        ]
        self.ln_f = LayerNorm(c.layer_norm_epsilon, use_bias=c.bias)

    def __call__(self, idx_BxT, deterministic=True):
        T = idx_BxT.shape[1]
        if T > self.config.block_size:
            raise ValueError(
                f"sequence length {T} exceeds block_size={self.config.block_size}: "
                f"crop the input to its last {self.config.block_size} tokens"
            )
        x_BxTxC = self.wte(idx_BxT)
        if self.config.position != "rotary":  # rotary turns q and k inside attention instead
            x_BxTxC = x_BxTxC + self.wpe(jnp.arange(T))  # [B, T, C] + [T, C]
        x_BxTxC = self.drop(x_BxTxC, deterministic=deterministic)
        for block in self.h:
            x_BxTxC = block(x_BxTxC, deterministic=deterministic)
        x_BxTxC = self.ln_f(x_BxTxC)
        return self.wte.attend(x_BxTxC)  # [B, T, C] @ [C, V] -> [B, T, V]
