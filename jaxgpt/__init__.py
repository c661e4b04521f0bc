"""jaxgpt: GPT and the encoder-decoder Transformer from scratch in JAX/Flax, proven against NumPy."""

from jaxgpt import reference
from jaxgpt.attention import MultiHeadAttention, attention, attention_weights, causal_mask, padding_mask
from jaxgpt.block import TransformerBlock
from jaxgpt.config import GPT_PRESETS, TRANSFORMER_PRESETS, GPTConfig, TransformerConfig
from jaxgpt.feedforward import FeedForward
from jaxgpt.generate import generate
from jaxgpt.gpt import GPT
from jaxgpt.layernorm import LayerNorm
from jaxgpt.params import count_params
from jaxgpt.positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding
from jaxgpt.transformer import Transformer

__version__ = "0.1.0"

__all__ = [
    "GPT",
    "GPTConfig",
    "GPT_PRESETS",
    "FeedForward",
    "LayerNorm",
    "LearnedPositionalEmbedding",
    "MultiHeadAttention",
    "RotaryEmbedding",
    "SinusoidalPositionalEncoding",
    "TRANSFORMER_PRESETS",
    "Transformer",
    "TransformerBlock",
    "TransformerConfig",
    "attention",
    "attention_weights",
    "causal_mask",
    "count_params",
    "generate",
    "padding_mask",
    "reference",
]
