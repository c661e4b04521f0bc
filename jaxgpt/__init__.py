"""jaxgpt: GPT and the encoder-decoder Transformer from scratch in JAX/Flax, proven against NumPy."""

from jaxgpt.model import reference
from jaxgpt.model.attention import MultiHeadAttention, attention, attention_weights, causal_mask, padding_mask
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.config import GPT_PRESETS, TRANSFORMER_PRESETS, GPTConfig, TransformerConfig
from jaxgpt.model.feedforward import FeedForward
from jaxgpt.decoding.generate import generate
from jaxgpt.model.gpt import GPT
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.model.params import count_params
from jaxgpt.model.positional import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding
from jaxgpt.model.transformer import Transformer

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
