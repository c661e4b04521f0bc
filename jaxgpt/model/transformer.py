"""The encoder-decoder Transformer of "Attention Is All You Need" (Vaswani et al. 2017)."""

import math

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.errors import InputError
from jaxgpt.model.attention import padding_mask
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.config import TransformerConfig
from jaxgpt.model.embedding import TokenEmbedding
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.model.positional import POSITIONS


class Transformer(nn.Module):
    """Source ids [B, S] and target ids [B, T] -> target logits [B, T, V_tgt] (teacher forcing).

    The encoder (`encoder_0` ...) reads the whole source with bidirectional self-attention;
    the decoder (`decoder_0` ...) reads the target causally and attends to the encoder's
    output, the "memory", through cross-attention. Padded source positions (`pad_id`) are
    masked out of every encoder and cross-attention. Target padding sits after the real
    tokens, so the causal mask already hides it; its logits are ignored by the loss.

    Use `encode` once per source and `decode` per target prefix, or `__call__` for both:
        memory = model.apply(variables, src, method=Transformer.encode)
        logits = model.apply(variables, tgt, memory, src, method=Transformer.decode)
    """

    config: TransformerConfig

    def setup(self):
        c = self.config
        embed = lambda vocab_size: TokenEmbedding(vocab_size, c.d_model, embedding_init=nn.initializers.normal(0.02))
        self.src_embed = embed(c.src_vocab_size)
        if not c.share_embeddings:
            self.tgt_embed = embed(c.tgt_vocab_size)
        self.position = POSITIONS["sinusoidal"].embedding(c.block_size, c.d_model)  # the paper's, section 3.5
        self.drop = nn.Dropout(c.dropout)
        block = lambda causal, cross_attention: TransformerBlock(
            n_head=c.n_head,
            d_ff=c.d_ff,
            dropout=c.dropout,
            bias=c.bias,
            causal=causal,
            cross_attention=cross_attention,
            norm_first=c.norm_first,
            activation=c.activation,
            attention_impl=c.attention_impl,
            layer_norm_epsilon=c.layer_norm_epsilon,
            max_len=c.block_size,
        )
        self.encoder = [block(causal=False, cross_attention=False) for _ in range(c.n_encoder_layer)]
        self.decoder = [block(causal=True, cross_attention=True) for _ in range(c.n_decoder_layer)]
        if c.norm_first:  # pre-LN stacks end un-normalised, so each gets a final LayerNorm
            self.encoder_ln = LayerNorm(epsilon=c.layer_norm_epsilon, use_bias=c.bias)
            self.decoder_ln = LayerNorm(epsilon=c.layer_norm_epsilon, use_bias=c.bias)
        if not c.tie_output:
            self.lm_head = nn.Dense(c.tgt_vocab_size, kernel_init=nn.initializers.normal(0.02))

    def _target_embed(self):
        return self.src_embed if self.config.share_embeddings else self.tgt_embed

    def _embed(self, embed, tokens_BxT, deterministic, offset=0):
        T = tokens_BxT.shape[1]
        if T > self.config.block_size:
            raise InputError(
                f"sequence length {T} exceeds block_size={self.config.block_size}: "
                "shorten the sequence or raise block_size"
            )
        # section 3.4: embeddings are multiplied by sqrt(d_model) before the positions are added
        x_BxTxC = embed(tokens_BxT) * math.sqrt(self.config.d_model) + self.position(offset + jnp.arange(T))
        return self.drop(x_BxTxC, deterministic=deterministic)

    def encode(self, src_BxS, deterministic=True):
        """Source tokens [B, S] -> memory [B, S, C]."""
        src_mask_Bx1x1xS = padding_mask(src_BxS, self.config.pad_id)
        x_BxSxC = self._embed(self.src_embed, src_BxS, deterministic)
        for layer in self.encoder:
            x_BxSxC = layer(x_BxSxC, mask=src_mask_Bx1x1xS, deterministic=deterministic)
        if self.config.norm_first:
            x_BxSxC = self.encoder_ln(x_BxSxC)
        return x_BxSxC

    def decode(self, tgt_BxT, memory_BxSxC, src_BxS, deterministic=True, decode=False, offset=0):
        """Target tokens [B, T], memory [B, S, C] and the source tokens (for its padding) -> logits [B, T, V].

        decode=True keeps the decoder's KV cache (the "cache" collection) for step-by-step decoding:
        `offset` is then the position of tgt's first token, the number of tokens already cached."""
        src_mask_Bx1x1xS = padding_mask(src_BxS, self.config.pad_id)
        x_BxTxC = self._embed(self._target_embed(), tgt_BxT, deterministic, offset)
        for layer in self.decoder:
            x_BxTxC = layer(
                x_BxTxC,
                context_BxSxC=memory_BxSxC,
                context_mask=src_mask_Bx1x1xS,
                deterministic=deterministic,
                decode=decode,
            )
        if self.config.norm_first:
            x_BxTxC = self.decoder_ln(x_BxTxC)
        if self.config.tie_output:
            return self._target_embed().attend(x_BxTxC)  # [B, T, C] @ [C, V] -> [B, T, V]
        return self.lm_head(x_BxTxC)

    def __call__(self, src_BxS, tgt_BxT, deterministic=True):
        memory_BxSxC = self.encode(src_BxS, deterministic)
        return self.decode(tgt_BxT, memory_BxSxC, src_BxS, deterministic)
