"""jaxgpt: GPT and the encoder-decoder Transformer from scratch in JAX/Flax, proven against NumPy.

The public API of the model and of decoding, one import away. The package is laid out as the
architecture, each folder a room whose imports only go down:
  model/     the Flax modules, their configs, GPT-2's weights, reference.py (the NumPy twin)
  decoding/  sampling from a GPT, greedy and beam search for the encoder-decoder
  training/  losses, optimizer, train state and step, the loop, checkpoints, data, devices
  study/     exercises, the shape tracer, attention figures (nothing else imports them)
  cli/, benchmark/  the command lines of scripts/*.py and their timing
"""

from jaxgpt.decoding.generate import generate
from jaxgpt.decoding.seq2seq import beam_search, greedy_decode
from jaxgpt.model import reference
from jaxgpt.model.attention import MultiHeadAttention, attention, attention_weights, causal_mask, padding_mask
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.config import GPT_PRESETS, TRANSFORMER_PRESETS, GPTConfig, TransformerConfig
from jaxgpt.model.feedforward import FeedForward
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
    "beam_search",
    "causal_mask",
    "count_params",
    "generate",
    "greedy_decode",
    "padding_mask",
    "reference",
]
