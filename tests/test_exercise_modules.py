"""The Flax-module checks pass jaxgpt's own modules, name a wrong one's mistake, explain a
parameter tree they cannot map, and call a stub "not written yet"."""

import flax.linen as nn
import jax.numpy as jnp

from jaxgpt.model.attention import MultiHeadAttention
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.feedforward import FeedForward
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.study import exercises
from jaxgpt.study.exercises import (
    check_attention,
    check_attention_module,
    check_block_module,
    check_feed_forward_module,
    check_layer_norm_module,
)
from jaxgpt.study.exercises.checking import run_check


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


def test_parameters_that_cannot_be_matched_are_a_clear_verdict_named_after_the_module_check(capsys):
    result = check_layer_norm_module(UnnamedLayerNorm)
    assert not result and result.diagnosis.startswith("your module's parameters do not fit: your parameter `shift` [8]")
    assert "is none of GPT-2's of that shape (`bias`, `scale`)" in result.diagnosis
    # the verdict names the check that was called, and its hint a help() that exists
    assert capsys.readouterr().out.startswith("FAIL check_layer_norm_module, case ")
    assert result.hint == "the arguments, shapes and names expected are in help(check_layer_norm_module)"
    assert "check_layer_norm_module" in dir(exercises)


def test_a_gpt_without_its_final_layer_norm_is_told_which_parameter_is_missing():
    from jaxgpt.model.gpt import GPT
    from jaxgpt.study.exercises import check_gpt_module

    class NoFinalNorm(GPT):  # GPT-2 without ln_f: logits straight from the last block
        @nn.compact
        def __call__(self, idx_BxT):
            c = self.config
            wte = nn.Embed(c.vocab_size, c.n_embd, name="wte")
            x_BxTxC = wte(idx_BxT) + nn.Embed(c.block_size, c.n_embd, name="wpe")(jnp.arange(idx_BxT.shape[1]))
            for i in range(c.n_layer):
                x_BxTxC = TransformerBlock(n_head=c.n_head, d_ff=4 * c.n_embd, causal=True, name=f"h_{i}")(x_BxTxC)
            return wte.attend(x_BxTxC)

    result = check_gpt_module(NoFinalNorm, verbose=False)
    assert not result and result.name == "check_gpt_module"
    assert (
        result.diagnosis
        == "your module's parameters do not fit: your module has no parameter for GPT-2's `ln_f/bias` [16]."
    )
    assert result.hint.endswith("help(check_gpt_module)")


def test_a_checker_that_fails_itself_says_so_and_blames_no_learner():
    def broken_reference(x):
        raise IndexError("index 3 is out of bounds")

    result = run_check("check_something", lambda x: x, broken_reference, [("one case", (1.0,), {})], [], verbose=False)
    assert not result
    assert result.diagnosis == "the checker itself raised IndexError: index 3 is out of bounds (your code did not run)."
    assert "bug in jaxgpt's checker" in result.hint


def test_your_code_raising_is_called_yours():
    def learners_attention(q, k, v, mask=None):
        T = mask.shape[-1]  # but a call without a mask passes None
        return q[..., :T, :]

    result = check_attention(learners_attention, verbose=False)
    assert result.diagnosis == "your code raised AttributeError: 'NoneType' object has no attribute 'shape'."
    assert result.hint == "the arguments, shapes and names expected are in help(check_attention)"


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


def test_unnamed_slips_get_hints_to_the_checkers_help_not_to_the_reference_file():
    def doubled_values(q, k, v, mask=None):  # no classic mistake matches this one
        scores = q @ k.swapaxes(-1, -2) / q.shape[-1] ** 0.5
        weights = jnp.exp(scores - scores.max(-1, keepdims=True))
        return 2 * (weights / weights.sum(-1, keepdims=True)) @ v

    def transposed(q, k, v, mask=None):
        return doubled_values(q, k, v).swapaxes(-1, -2)

    differ, shape = check_attention(doubled_values, verbose=False), check_attention(transposed, verbose=False)
    assert differ.diagnosis.startswith("the values differ: largest difference ")
    assert shape.diagnosis.startswith("output shape ")
    for result in (differ, shape):
        assert "help(check_attention)" in result.hint and "reference" not in result.hint
