"""The video's whole model at every stage after the bigram (its `BigramLanguageModel` grown into
`GPTLanguageModel`), and `stage_model`, which builds it with your modules in place of the video's."""

from __future__ import annotations

import functools

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.study.codealong.attention import MultiHeadAttention
from jaxgpt.study.codealong.block import Block
from jaxgpt.study.codealong.config import CodeAlongConfig
from jaxgpt.study.codealong.layers import Embedding, Linear


class GPTLanguageModel(nn.Module):
    """idx [B, T] -> logits [B, T, V]: token plus position embeddings, config.n_layer blocks
    (`blocks_0`, ...), `ln_f` (with config.layernorm) and `lm_head` (C -> V)."""

    config: CodeAlongConfig
    block_class: type | None = None  # your Block in place of the video's

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False):
        config, T = self.config, idx_BxT.shape[1]
        tok_emb_BxTxC = Embedding(config.vocab_size, config.n_embd, name="token_embedding_table")(idx_BxT)
        pos_emb_TxC = Embedding(config.block_size, config.n_embd, name="position_embedding_table")(jnp.arange(T))
        x_BxTxC = tok_emb_BxTxC + pos_emb_TxC  # every position of every sequence gets its position's row
        for i in range(config.n_layer):
            x_BxTxC = (self.block_class or Block)(config, name=f"blocks_{i}")(x_BxTxC, train)
        if config.layernorm:
            x_BxTxC = nn.LayerNorm(epsilon=1e-5, name="ln_f")(x_BxTxC)
        return Linear(config.vocab_size, name="lm_head")(x_BxTxC)


def stage_model(config: CodeAlongConfig, head=None, attention=None, ffwd=None, block=None) -> GPTLanguageModel:
    """The stage's model with the classes given (yours) in place of the video's; a class you give is
    used whole, so your MultiHeadAttention brings its own heads and your Block its own layers."""
    if attention is None and head is not None:
        attention = functools.partial(MultiHeadAttention, head_class=head)
    if block is None and (attention is not None or ffwd is not None):
        block = functools.partial(Block, attention_class=attention, ffwd_class=ffwd)
    return GPTLanguageModel(config, block_class=block)
