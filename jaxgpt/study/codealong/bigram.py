"""The video's first model, bigram.py: each character's row of a [V, V] table is the logits of the next."""

from __future__ import annotations

import flax.linen as nn

from jaxgpt.study.codealong.layers import Embedding


class BigramLanguageModel(nn.Module):
    """idx [B, T] -> logits [B, T, V]: a lookup, no context at all (`token_embedding_table` [V, V])."""

    vocab_size: int = 65

    @nn.compact
    def __call__(self, idx_BxT, train: bool = False):
        return Embedding(self.vocab_size, self.vocab_size, name="token_embedding_table")(idx_BxT)
