"""jaxgpt: GPT and the encoder-decoder Transformer from scratch in JAX/Flax, proven against NumPy.

The public API of the model and of decoding, one import away. The package is laid out as the
architecture, each folder a room whose imports only go down:
  model/     the Flax modules, their configs, GPT-2's weights, reference.py (the NumPy twin)
  decoding/  sampling from a GPT, greedy and beam search for the encoder-decoder
  training/  losses, optimizer, train state and step, the loop, checkpoints, data, devices
  study/     exercises, the shape tracer, attention figures (nothing else imports them)
  cli/, benchmark/  the command lines of scripts/*.py and their timing

`import jaxgpt` itself imports nothing heavy: each name below is imported on first use
(`jaxgpt.GPT`, `from jaxgpt import GPT`), so a script can restart itself (cli/allocator.py)
before JAX and Flax are loaded, and loads them once.
"""

import importlib

__version__ = "0.1.0"

# each public name -> the module that defines it
_WHERE = {
    "generate": "jaxgpt.decoding.generate",
    "beam_search": "jaxgpt.decoding.seq2seq",
    "greedy_decode": "jaxgpt.decoding.seq2seq",
    "MultiHeadAttention": "jaxgpt.model.attention",
    "attention": "jaxgpt.model.attention",
    "attention_weights": "jaxgpt.model.attention",
    "causal_mask": "jaxgpt.model.attention",
    "padding_mask": "jaxgpt.model.attention",
    "TransformerBlock": "jaxgpt.model.block",
    "GPT_PRESETS": "jaxgpt.model.config",
    "TRANSFORMER_PRESETS": "jaxgpt.model.config",
    "GPTConfig": "jaxgpt.model.config",
    "TransformerConfig": "jaxgpt.model.config",
    "FeedForward": "jaxgpt.model.feedforward",
    "GPT": "jaxgpt.model.gpt",
    "LayerNorm": "jaxgpt.model.layernorm",
    "count_params": "jaxgpt.model.params",
    "LearnedPositionalEmbedding": "jaxgpt.model.positional",
    "RotaryEmbedding": "jaxgpt.model.positional",
    "SinusoidalPositionalEncoding": "jaxgpt.model.positional",
    "Transformer": "jaxgpt.model.transformer",
}
_MODULES = {"reference": "jaxgpt.model.reference"}  # whole modules: jaxgpt.reference.attention(...)

__all__ = sorted([*_WHERE, *_MODULES])


def __getattr__(name: str):
    """Import a public name on first use and keep it (module attributes, PEP 562)."""
    if name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif name in _WHERE:
        value = getattr(importlib.import_module(_WHERE[name]), name)
    else:
        raise AttributeError(f"module 'jaxgpt' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__():
    return sorted([*globals(), *__all__])
