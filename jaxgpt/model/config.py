"""Model configurations: `GPTConfig` (decoder-only) and `TransformerConfig` (encoder-decoder).

Both are frozen dataclasses that check themselves on construction, so a bad value fails
at once with a message naming the field, the rule and the fix, not deep inside a module.
`from_preset(name, **overrides)` builds the named sizes (GPT-2, minGPT, nanoGPT's
Shakespeare) and lets any field be overridden.
"""

from __future__ import annotations

import dataclasses

from jaxgpt.errors import InputError, check_int
from jaxgpt.model.positional import POSITIONS  # the table of position encodings: its names are the choices
from jaxgpt.settings import setting

ATTENTION_IMPLEMENTATIONS = ("manual", "xla", "cudnn")
ACTIVATIONS = ("gelu_tanh", "gelu", "relu")
_DROPOUT = "dropout rate in [0, 1) on embeddings, attention weights and residual branches"
_ATTENTION = "manual: the readable einsum path; xla or cudnn: jax.nn.dot_product_attention"


def _check_positive_int(config, *names: str) -> None:
    for name in names:
        check_int(name, getattr(config, name))


def _check_choice(config, name: str, choices: tuple[str, ...]) -> None:
    value = getattr(config, name)
    if value not in choices:
        raise InputError(f"{name}={value!r} is not one of {', '.join(choices)}")


def _check_dropout(config) -> None:
    if not 0.0 <= config.dropout < 1.0:
        raise InputError(f"dropout={config.dropout!r} must be in [0, 1)")


def _check_heads(config, width_name: str) -> None:
    width = getattr(config, width_name)
    if width % config.n_head:
        raise InputError(
            f"{width_name}={width} is not divisible by n_head={config.n_head}: "
            f"choose {width_name} as a multiple of n_head"
        )


def _check_epsilon(config) -> None:
    if not config.layer_norm_epsilon > 0:
        raise InputError(f"layer_norm_epsilon={config.layer_norm_epsilon!r} must be > 0")


def _from_preset(cls, presets: dict[str, dict], name: str, overrides: dict):
    if name not in presets:
        raise InputError(f"unknown preset {name!r}: known presets are {', '.join(presets)}")
    return cls(**{**presets[name], **overrides})


@dataclasses.dataclass(frozen=True)
class GPTConfig:
    """A GPT-2 style decoder-only model. Defaults are nanoGPT's (GPT-2 124M, padded vocabulary)."""

    block_size: int = setting(1024, "context length T: the longest sequence the model sees")
    vocab_size: int = 50304  # V: 50257 for GPT-2's BPE, padded to a multiple of 64 by nanoGPT
    n_layer: int = setting(12, "transformer blocks")
    n_head: int = setting(12, "attention heads H per block (must divide the width)")
    n_embd: int = setting(768, "width C of the residual stream")
    dropout: float = setting(0.0, _DROPOUT)
    bias: bool = setting(
        True, "biases in linear layers and LayerNorms (GPT-2: True; nanoGPT's Shakespeare models: False)"
    )
    position: str = setting(
        "learned", "position encoding, one of the table in jaxgpt/model/positional.py", tuple(POSITIONS)
    )
    attention_impl: str = setting("manual", _ATTENTION, ATTENTION_IMPLEMENTATIONS)
    activation: str = setting(
        "gelu_tanh", "the feed-forward's nonlinearity (GPT-2: the tanh approximation of GELU)", ACTIVATIONS
    )
    layer_norm_epsilon: float = 1e-5
    remat: bool = setting(
        False, "recompute each block's activations in the backward pass: less memory, about 1/3 more compute"
    )

    def __post_init__(self):
        _check_positive_int(self, "block_size", "vocab_size", "n_layer", "n_head", "n_embd")
        _check_heads(self, "n_embd")
        _check_dropout(self)
        _check_choice(self, "position", tuple(POSITIONS))
        _check_choice(self, "attention_impl", ATTENTION_IMPLEMENTATIONS)
        _check_choice(self, "activation", ACTIVATIONS)
        _check_epsilon(self)
        if POSITIONS[self.position].rotary and self.head_size % 2:  # RoPE turns channel pairs
            raise InputError(
                f"position={self.position!r} needs an even head size, but n_embd/n_head = "
                f"{self.n_embd}/{self.n_head} = {self.head_size}: change n_embd or n_head"
            )

    @property
    def head_size(self) -> int:  # D
        return self.n_embd // self.n_head

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "GPTConfig":
        """The named model size, with any field overridden: `from_preset("gpt-nano", vocab_size=65)`."""
        return _from_preset(cls, GPT_PRESETS, name, overrides)


_GPT2_VOCAB = dict(vocab_size=50257, block_size=1024, bias=True, dropout=0.0)
_SHAKESPEARE_CHAR = dict(vocab_size=65, bias=False, activation="gelu")  # as nanoGPT: 65 characters, exact GELU

GPT_PRESETS: dict[str, dict] = {
    # OpenAI's GPT-2 family (the sizes nanoGPT's from_pretrained knows)
    "gpt2": dict(n_layer=12, n_head=12, n_embd=768, **_GPT2_VOCAB),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024, **_GPT2_VOCAB),
    "gpt2-large": dict(n_layer=36, n_head=20, n_embd=1280, **_GPT2_VOCAB),
    "gpt2-xl": dict(n_layer=48, n_head=25, n_embd=1600, **_GPT2_VOCAB),
    # minGPT's small models, with GPT-2's vocabulary
    "gpt-mini": dict(n_layer=6, n_head=6, n_embd=192, **_GPT2_VOCAB),
    "gpt-micro": dict(n_layer=4, n_head=4, n_embd=128, **_GPT2_VOCAB),
    "gpt-nano": dict(n_layer=3, n_head=3, n_embd=48, **_GPT2_VOCAB),
    # nanoGPT's config/train_shakespeare_char.py, and its suggested laptop size
    "shakespeare-char": dict(n_layer=6, n_head=6, n_embd=384, block_size=256, dropout=0.2, **_SHAKESPEARE_CHAR),
    "shakespeare-char-cpu": dict(n_layer=4, n_head=4, n_embd=128, block_size=64, dropout=0.0, **_SHAKESPEARE_CHAR),
}


@dataclasses.dataclass(frozen=True)
class TransformerConfig:
    """The encoder-decoder Transformer of Vaswani et al. (2017). Defaults are the paper's base model."""

    src_vocab_size: int = 32000  # V_src
    tgt_vocab_size: int = 32000  # V_tgt
    block_size: int = setting(512, "the longest source or target sequence")
    n_encoder_layer: int = setting(6, "encoder blocks (N in the paper)")
    n_decoder_layer: int = setting(6, "decoder blocks")
    n_head: int = setting(8, "attention heads h per block (must divide d_model)")
    d_model: int = setting(512, "width C of the residual stream")
    d_ff: int = setting(2048, "inner width F of the position-wise feed-forward layers")
    dropout: float = setting(0.1, _DROPOUT + " (P_drop)")
    bias: bool = True
    norm_first: bool = setting(
        False, "False: post-LN as the 2017 paper; True: pre-LN as GPT-2 and the Annotated Transformer"
    )
    share_embeddings: bool = False  # one embedding for source and target (needs one shared vocabulary)
    tie_output: bool = True  # output projection = target embedding transposed (paper section 3.4)
    pad_id: int = 0  # token id that marks padding in source and target
    attention_impl: str = setting("manual", _ATTENTION, ATTENTION_IMPLEMENTATIONS)
    activation: str = setting(
        "relu", "the feed-forward's nonlinearity (the paper's: max(0, xW1 + b1)W2 + b2)", ACTIVATIONS
    )
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        _check_positive_int(
            self,
            "src_vocab_size",
            "tgt_vocab_size",
            "block_size",
            "n_encoder_layer",
            "n_decoder_layer",
            "n_head",
            "d_model",
            "d_ff",
        )
        _check_heads(self, "d_model")
        _check_dropout(self)
        _check_choice(self, "attention_impl", ATTENTION_IMPLEMENTATIONS)
        _check_choice(self, "activation", ACTIVATIONS)
        _check_epsilon(self)
        if self.share_embeddings and self.src_vocab_size != self.tgt_vocab_size:
            raise InputError(
                f"share_embeddings=True needs src_vocab_size == tgt_vocab_size, got "
                f"{self.src_vocab_size} and {self.tgt_vocab_size}: use one vocabulary or share_embeddings=False"
            )
        if not 0 <= self.pad_id < min(self.src_vocab_size, self.tgt_vocab_size):
            raise InputError(f"pad_id={self.pad_id} must be a token id of both vocabularies")

    @property
    def head_size(self) -> int:  # D
        return self.d_model // self.n_head

    @classmethod
    def from_preset(cls, name: str, **overrides) -> "TransformerConfig":
        """The named model size, with any field overridden."""
        return _from_preset(cls, TRANSFORMER_PRESETS, name, overrides)


TRANSFORMER_PRESETS: dict[str, dict] = {
    "transformer-base": dict(n_encoder_layer=6, n_decoder_layer=6, d_model=512, n_head=8, d_ff=2048, dropout=0.1),
    "transformer-big": dict(n_encoder_layer=6, n_decoder_layer=6, d_model=1024, n_head=16, d_ff=4096, dropout=0.3),
    # small enough to train on a laptop CPU in minutes (synthetic sequence tasks)
    "transformer-tiny": dict(
        n_encoder_layer=2, n_decoder_layer=2, d_model=64, n_head=4, d_ff=256, dropout=0.0, block_size=64
    ),
}
