"""Presets, their exact parameter counts (without allocating them), and validation errors."""

import dataclasses

import jax
import jax.numpy as jnp
import pytest

from jaxgpt import GPT, GPT_PRESETS, TRANSFORMER_PRESETS, GPTConfig, Transformer, TransformerConfig, count_params


def abstract_gpt_params(config):
    return jax.eval_shape(GPT(config).init, jax.random.key(0), jnp.zeros((1, 2), jnp.int32))


@pytest.mark.parametrize(
    "name,expected",
    [("gpt2", 124_439_808), ("gpt2-medium", 354_823_168), ("gpt2-large", 774_030_080), ("gpt2-xl", 1_557_611_200)],
)
def test_gpt2_presets_have_openais_parameter_counts(name, expected):
    assert count_params(abstract_gpt_params(GPTConfig.from_preset(name))) == expected


def gpt_formula(c):
    """Counted by hand: embeddings, then per block LN, c_attn, c_proj, LN, c_fc, c_proj; then ln_f."""
    C, b = c.n_embd, int(c.bias)
    ln = C + b * C
    block = ln + (3 * C * C + b * 3 * C) + (C * C + b * C) + ln + (4 * C * C + b * 4 * C) + (4 * C * C + b * C)
    return c.vocab_size * C + c.block_size * C + c.n_layer * block + ln


@pytest.mark.parametrize("name", list(GPT_PRESETS))
def test_every_gpt_preset_counts_as_the_formula(name):
    config = GPTConfig.from_preset(name)
    assert count_params(abstract_gpt_params(config)) == gpt_formula(config)


def test_shakespeare_presets_are_nanogpts():
    config = GPTConfig.from_preset("shakespeare-char")
    assert (config.n_layer, config.n_head, config.n_embd, config.block_size, config.dropout) == (6, 6, 384, 256, 0.2)
    cpu = GPTConfig.from_preset("shakespeare-char-cpu")
    assert (cpu.n_layer, cpu.n_head, cpu.n_embd, cpu.block_size, cpu.dropout) == (4, 4, 128, 64, 0.0)
    assert count_params(abstract_gpt_params(config)) == 10_745_088  # nanoGPT prints 10.65M without wpe


def transformer_formula(c):
    C, F, b = c.d_model, c.d_ff, int(c.bias)
    ln = C + b * C
    self_attention = 4 * C * C + b * 4 * C  # q, k, v and output projections
    ffn = 2 * C * F + b * (F + C)
    encoder = self_attention + ffn + 2 * ln
    decoder = 2 * self_attention + ffn + 3 * ln
    embeddings = c.src_vocab_size * C + (0 if c.share_embeddings else c.tgt_vocab_size * C)
    head = 0 if c.tie_output else C * c.tgt_vocab_size + c.tgt_vocab_size
    final_norms = 2 * ln if c.norm_first else 0
    return embeddings + c.n_encoder_layer * encoder + c.n_decoder_layer * decoder + head + final_norms


@pytest.mark.parametrize("name", list(TRANSFORMER_PRESETS))
def test_transformer_presets_count_as_the_formula(name):
    config = TransformerConfig.from_preset(name, src_vocab_size=37000, tgt_vocab_size=37000, share_embeddings=True)
    tokens = jnp.zeros((1, 3), jnp.int32)
    shapes = jax.eval_shape(Transformer(config).init, jax.random.key(0), tokens, tokens)
    assert count_params(shapes) == transformer_formula(config)


def test_transformer_base_is_the_papers_base_model():
    config = TransformerConfig.from_preset(
        "transformer-base", src_vocab_size=37000, tgt_vocab_size=37000, share_embeddings=True
    )
    assert (config.n_encoder_layer, config.d_model, config.n_head, config.d_ff) == (6, 512, 8, 2048)
    # the paper's Table 3 reports 65M parameters for this model
    assert transformer_formula(config) == 63_082_496


def test_from_preset_applies_overrides():
    config = GPTConfig.from_preset("gpt-nano", vocab_size=65, dropout=0.1)
    assert (config.n_layer, config.n_embd, config.vocab_size, config.dropout) == (3, 48, 65, 0.1)


@pytest.mark.parametrize("cls", [GPTConfig, TransformerConfig])
def test_unknown_preset_lists_the_known_ones(cls):
    with pytest.raises(ValueError, match="unknown preset 'gpt5': known presets are ") as error:
        cls.from_preset("gpt5")
    known = GPT_PRESETS if cls is GPTConfig else TRANSFORMER_PRESETS
    assert all(name in str(error.value) for name in known)


@pytest.mark.parametrize(
    "fields,message",
    [
        (dict(n_embd=100, n_head=3), "n_embd=100 is not divisible by n_head=3"),
        (dict(n_layer=0), "n_layer=0 must be a positive integer"),
        (dict(block_size=2.5), "block_size=2.5 must be a positive integer"),
        (dict(vocab_size=True), "vocab_size=True must be a positive integer"),
        (dict(dropout=1.0), r"dropout=1.0 must be in \[0, 1\)"),
        (dict(position="alibi"), "position='alibi' is not one of learned, sinusoidal, rotary"),
        (dict(attention_impl="flash"), "attention_impl='flash' is not one of manual, xla, cudnn"),
        (dict(activation="swish"), "activation='swish' is not one of gelu_tanh, gelu, relu"),
        (dict(n_embd=15, n_head=3, position="rotary"), "position='rotary' needs an even head size"),
        (dict(layer_norm_epsilon=0.0), "layer_norm_epsilon=0.0 must be > 0"),
    ],
)
def test_gpt_config_rejects_bad_values_naming_field_and_rule(fields, message):
    with pytest.raises(ValueError, match=message):
        GPTConfig(**fields)


@pytest.mark.parametrize(
    "fields,message",
    [
        (dict(d_model=100, n_head=3), "d_model=100 is not divisible by n_head=3"),
        (dict(d_ff=-1), "d_ff=-1 must be a positive integer"),
        (dict(src_vocab_size=10, tgt_vocab_size=12, share_embeddings=True), "share_embeddings=True needs"),
        (dict(src_vocab_size=10, pad_id=10), "pad_id=10 must be a token id of both vocabularies"),
        (dict(dropout=-0.1), r"dropout=-0.1 must be in \[0, 1\)"),
    ],
)
def test_transformer_config_rejects_bad_values_naming_field_and_rule(fields, message):
    with pytest.raises(ValueError, match=message):
        TransformerConfig(**fields)


def test_configs_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        GPTConfig().n_layer = 2
