"""A learner's own GPT trains from jaxgpt's starting weights, matches jaxgpt's GPT when it is
right (and not when it is wrong), and writes text through generate's uncached path."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt import GPT, GPTConfig, generate
from jaxgpt.model.block import TransformerBlock
from jaxgpt.study.exercises import train_your_gpt
from jaxgpt.study.exercises.modules import map_params

SIZES = dict(n_layer=1, n_head=2, n_embd=16, block_size=8)


class LearnersGPT(nn.Module):
    """A GPT as a learner writes it (nn.Embed, wte.attend), jaxgpt's block inside; `positions`
    False forgets wpe, a slip that trains but is not GPT-2."""

    config: GPTConfig
    positions: bool = True

    @nn.compact
    def __call__(self, idx_BxT):
        c, T = self.config, idx_BxT.shape[1]
        wte = nn.Embed(c.vocab_size, c.n_embd, name="wte")
        wpe_TxC = nn.Embed(c.block_size, c.n_embd, name="wpe")(jnp.arange(T))
        x_BxTxC = wte(idx_BxT) + (wpe_TxC if self.positions else 0.0 * wpe_TxC)
        for i in range(c.n_layer):
            x_BxTxC = TransformerBlock(n_head=c.n_head, d_ff=4 * c.n_embd, causal=True, name=f"h_{i}")(x_BxTxC)
        return wte.attend(nn.LayerNorm(epsilon=1e-5, name="ln_f")(x_BxTxC))


class NoPositionsGPT(LearnersGPT):
    positions: bool = False


@pytest.fixture(scope="module")
def text(shakespeare_path):
    return shakespeare_path.read_text()[:20_000]


@pytest.fixture(scope="module")
def right_run(text):
    return train_your_gpt(LearnersGPT, text, steps=40, **SIZES)


def test_a_right_gpt_learns_and_matches_jaxgpts_val_loss(right_run):
    assert right_run.losses.shape == (40,)
    assert right_run.losses[0] == pytest.approx(np.log(right_run.tokenizer.vocab_size), abs=0.1)
    assert right_run.losses[-5:].mean() < right_run.losses[0] - 0.5
    assert right_run.val_loss == pytest.approx(right_run.jaxgpt_val_loss, abs=1e-4)


def test_a_gpt_without_positions_does_not_match(text, right_run):
    # jaxgpt's side is the same run for any learner's class (same sizes, batches, starting weights)
    wrong = train_your_gpt(NoPositionsGPT, text, steps=40, compare=False, **SIZES)
    assert wrong.jaxgpt_val_loss is None
    assert abs(wrong.val_loss - right_run.jaxgpt_val_loss) > 1e-3


def test_the_learners_gpt_writes_text_that_starts_with_the_prompt(right_run):
    text = right_run.sample("ROMEO:", 20, seed=3)
    assert text.startswith("ROMEO:") and len(text) == 26
    assert set(text) <= set(right_run.tokenizer.chars)
    assert right_run.sample("ROMEO:", 20, seed=3) == text  # the seed decides


def test_any_gpt_shaped_module_generates_uncached_as_jaxgpt_does_past_block_size():
    config = GPTConfig(vocab_size=11, **SIZES)
    prompt_1x3 = jnp.array([[1, 2, 3]], jnp.int32)
    params = GPT(config).init(jax.random.key(1), prompt_1x3)["params"]
    yours = LearnersGPT(config)
    your_params = map_params(yours.init(jax.random.key(0), prompt_1x3)["params"], params)
    # 3 + 12 tokens: the window slides past block_size 8, so positions are re-counted from the crop
    greedy = dict(rng=jax.random.key(0), temperature=0.0)
    expected = generate(GPT(config), params, prompt_1x3, 12, **greedy)
    got = generate(yours, your_params, prompt_1x3, 12, use_cache=False, **greedy)
    np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))
