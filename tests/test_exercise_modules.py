"""The Flax-module checks pass jaxgpt's own modules, name a wrong one's mistake, explain a
parameter tree they cannot map, and call a stub "not written yet"."""

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.model.attention import MultiHeadAttention
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.feedforward import FeedForward
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.study.exercises import (
    check_attention_module,
    check_block_module,
    check_feed_forward_module,
    check_layer_norm_module,
)


def block_class(norm_first: bool):
    class Block(nn.Module):  # GPT-2's block inside a wrapper: names matched through it
        n_head: int

        @nn.compact
        def __call__(self, x_BxTxC):
            C = x_BxTxC.shape[-1]
            return TransformerBlock(n_head=self.n_head, d_ff=4 * C, causal=True, norm_first=norm_first)(x_BxTxC)

    return Block


def test_jaxgpts_own_modules_pass(capsys):
    assert check_layer_norm_module(LayerNorm)
    assert check_feed_forward_module(FeedForward)
    assert check_attention_module(MultiHeadAttention)
    assert check_block_module(block_class(norm_first=True))
    assert capsys.readouterr().out.count("PASS ") == 4


def test_a_post_ln_block_is_named_as_such():
    result = check_block_module(block_class(norm_first=False))
    assert not result and "post-LN" in result.diagnosis


class UnnamedLayerNorm(nn.Module):  # right numbers, but parameters GPT-2 does not call so
    epsilon: float = 1e-5

    @nn.compact
    def __call__(self, x):
        weight = self.param("weight", nn.initializers.ones, (x.shape[-1],))
        shift = self.param("shift", nn.initializers.zeros, (x.shape[-1],))
        return (x - x.mean(-1, keepdims=True)) / jnp.sqrt(x.var(-1, keepdims=True) + self.epsilon) * weight + shift


def test_parameters_that_cannot_be_matched_are_a_clear_verdict():
    result = check_layer_norm_module(UnnamedLayerNorm)
    assert not result and "your parameter `shift` [8] is none of GPT-2's of that shape (`bias`, `scale`)" in (
        result.diagnosis
    )


class StubAttention(nn.Module):
    n_head: int
    causal: bool = False

    @nn.compact
    def __call__(self, x, mask=None):
        raise NotImplementedError


def test_a_stub_module_is_not_written_yet(capsys):
    result = check_attention_module(StubAttention)
    assert not result and result.not_written
    assert "fill in `StubAttention` above" in capsys.readouterr().out


def test_the_whole_module_checks_pass_jaxgpts_modules_and_catch_a_wrong_one(capsys):
    from jaxgpt.model.gpt import GPT
    from jaxgpt.model.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
    from jaxgpt.study.exercises import (
        check_cross_attention_module,
        check_gpt_module,
        check_learned_positions_module,
        check_post_ln_block_module,
        check_sinusoidal_module,
    )

    class PostLN(nn.Module):
        n_head: int

        @nn.compact
        def __call__(self, x_BxTxC):
            return TransformerBlock(n_head=self.n_head, d_ff=4 * x_BxTxC.shape[-1], norm_first=False)(x_BxTxC)

    assert check_sinusoidal_module(SinusoidalPositionalEncoding)
    assert check_learned_positions_module(LearnedPositionalEmbedding)
    assert check_cross_attention_module(MultiHeadAttention)
    assert check_post_ln_block_module(PostLN)
    assert check_gpt_module(GPT)
    assert not check_post_ln_block_module(block_class(norm_first=True))  # GPT-2's pre-LN is not the 2017 block
    assert "the values differ" in capsys.readouterr().out
