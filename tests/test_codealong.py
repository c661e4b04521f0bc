"""The code-along's stage models (jaxgpt.study.codealong) are the video's: each equals its NumPy
formula and, where jaxgpt has one, its reference; the checkers pass them and name the classic
slips; training lowers the loss."""

import dataclasses
import functools

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.model import reference as ref
from jaxgpt.study import codealong
from jaxgpt.study.codealong import formulas
from jaxgpt.study.codealong.checks import CONFIG

C, H = 16, 4
BLOCK = codealong.CodeAlongConfig(block_size=8, n_embd=C, n_head=H, n_layer=2)
x_BxTxC = jax.random.normal(jax.random.key(0), (2, 8, C))


def init(module, *inputs):
    return jax.tree.map(np.asarray, module.init(jax.random.key(1), *inputs)["params"])


def as_numpy(tree):
    return jax.tree.map(lambda a: np.asarray(a, np.float64), tree)


def test_the_three_averages_are_the_same_numbers():
    x = np.asarray(jax.random.normal(jax.random.key(2), (4, 8, 2)))
    loop = codealong.average_loop(x)
    assert np.allclose(loop[:, 3], x[:, :4].mean(axis=1))
    assert np.allclose(codealong.average_matmul(x), loop, atol=1e-6)
    assert np.allclose(codealong.average_softmax(x), loop, atol=1e-6)


def test_the_bigram_model_looks_up_rows():
    model = codealong.BigramLanguageModel(vocab_size=11)
    idx_BxT = jnp.array([[1, 5, 10], [0, 0, 3]])
    params = init(model, idx_BxT)
    assert np.array_equal(
        model.apply({"params": params}, idx_BxT), params["token_embedding_table"]["embedding"][idx_BxT]
    )


def test_a_head_is_causal_scaled_attention_as_in_the_reference():
    head = codealong.Head(BLOCK, head_size=4)
    params = init(head, x_BxTxC)
    out = np.asarray(head.apply({"params": params}, x_BxTxC))
    x = np.asarray(x_BxTxC, np.float64)
    q, k, v = (x @ params[name]["kernel"] for name in ("query", "key", "value"))
    expected, _ = ref.attention(q, k, v, ref.causal_mask(8))
    assert np.allclose(out, expected, atol=1e-5)
    assert np.allclose(out, formulas.head(as_numpy(params), x), atol=1e-5)


def gpt2_attention(params, n_head):
    """The video's heads and proj as GPT-2's one c_attn (q, k, v of all heads side by side) and c_proj."""
    heads = [params[f"heads_{i}"] for i in range(n_head)]
    kernel = np.concatenate([h[name]["kernel"] for name in ("query", "key", "value") for h in heads], axis=-1)
    return {"c_attn": {"kernel": kernel, "bias": np.zeros(kernel.shape[1])}, "c_proj": params["proj"]}


def test_multi_head_attention_with_its_projection_is_the_references():
    attention = codealong.MultiHeadAttention(BLOCK, H, C // H)
    params = as_numpy(init(attention, x_BxTxC))
    out = np.asarray(attention.apply({"params": params}, x_BxTxC))
    expected, _ = ref.multi_head_attention(np.asarray(x_BxTxC, np.float64), gpt2_attention(params, H), H, causal=True)
    assert np.allclose(out, expected, atol=1e-5)
    no_proj = codealong.MultiHeadAttention(dataclasses.replace(BLOCK, residual=False), H, C // H)
    params = as_numpy(init(no_proj, x_BxTxC))
    assert "proj" not in params and np.allclose(
        no_proj.apply({"params": params}, x_BxTxC),
        formulas.multi_head(params, np.asarray(x_BxTxC, np.float64)),
        atol=1e-5,
    )


def test_the_feed_forward_is_the_references_with_relu():
    ffwd = codealong.FeedFoward(BLOCK)
    params = as_numpy(init(ffwd, x_BxTxC))
    gpt2 = {"c_fc": params["net_0"], "c_proj": params["net_2"]}
    expected = ref.feed_forward(np.asarray(x_BxTxC, np.float64), gpt2, activation="relu")
    assert params["net_0"]["kernel"].shape == (C, 4 * C) and np.allclose(
        ffwd.apply({"params": params}, x_BxTxC), expected, atol=1e-5
    )


def test_the_full_block_is_gpt2s_pre_ln_block_and_each_stage_its_formula():
    block = codealong.Block(BLOCK)
    params = as_numpy(init(block, x_BxTxC))
    gpt2 = {"ln_1": params["ln1"], "attn": gpt2_attention(params["sa"], H), "ln_2": params["ln2"]}
    gpt2["mlp"] = {"c_fc": params["ffwd"]["net_0"], "c_proj": params["ffwd"]["net_2"]}
    expected = ref.transformer_block(np.asarray(x_BxTxC, np.float64), gpt2, H, causal=True, activation="relu")
    assert np.allclose(block.apply({"params": params}, x_BxTxC), expected, atol=1e-5)
    for stage in codealong.STAGES.values():
        if stage.config is not None:
            config = dataclasses.replace(stage.config, n_embd=C, n_head=min(stage.config.n_head, H))
            block = codealong.Block(config)
            params = as_numpy(init(block, x_BxTxC))
            got = block.apply({"params": params}, x_BxTxC)
            assert np.allclose(got, formulas.block(params, np.asarray(x_BxTxC, np.float64), config), atol=1e-5), (
                stage.name
            )


def test_the_language_model_is_its_formula_and_causal():
    model = codealong.GPTLanguageModel(BLOCK)
    idx_BxT = jax.random.randint(jax.random.key(3), (2, 8), 0, 65)
    params = as_numpy(init(model, idx_BxT))
    logits_BxTxV = np.asarray(model.apply({"params": params}, idx_BxT))
    assert np.allclose(logits_BxTxV, formulas.gpt_language_model(params, np.asarray(idx_BxT), BLOCK), atol=1e-4)
    changed_BxT = idx_BxT.at[:, 5:].set(0)  # the future changes; positions 0..4 must not see it
    assert np.allclose(model.apply({"params": params}, changed_BxT)[:, :5], logits_BxTxV[:, :5], atol=1e-5)


def test_initialisation_is_pytorchs():
    params = codealong.init_params(codealong.GPTLanguageModel(dataclasses.replace(BLOCK, n_embd=64)), 8)
    table = np.asarray(params["token_embedding_table"]["embedding"])
    assert abs(table.std() - 1.0) < 0.05  # nn.Embedding: N(0, 1)
    kernel, bias = (np.asarray(params["blocks_0"]["ffwd"]["net_2"][name]) for name in ("kernel", "bias"))
    bound = 1 / np.sqrt(256)  # nn.Linear: U(±1/sqrt(fan_in)) for weights and biases, fan_in = 4C
    assert np.abs(kernel).max() <= bound and np.abs(kernel).max() > 0.9 * bound and np.abs(bias).max() <= bound


def test_batches_are_random_windows_shared_with_the_sampler():
    tokens = np.arange(1000, dtype=np.uint16)
    x_NxBxT, y_NxBxT = codealong.get_batches(tokens, 8, 4, steps=3, seed=5)
    assert x_NxBxT.shape == (3, 4, 8) and np.array_equal(y_NxBxT, x_NxBxT + 1)
    sampler = BatchSampler(tokens, 8, seed=5)
    assert all(np.array_equal(x_NxBxT[i], sampler.sample(4)[0]) for i in range(3))


@pytest.fixture(scope="module")
def trained_bigram():
    tokens = np.tile(np.arange(11, dtype=np.uint16), 200)  # 0 1 2 ... 10 0 1 ...: each next token is certain
    model = codealong.BigramLanguageModel(vocab_size=11)
    batches = codealong.get_batches(tokens, 8, 16, steps=150, seed=0)
    params, losses, scores = codealong.train(
        model, codealong.init_params(model, 8), batches, 1e-1, eval_batches={"train": batches}
    )
    return model, params, np.asarray(losses), scores


def test_training_lowers_the_loss(trained_bigram):
    _, _, losses, scores = trained_bigram
    assert losses[0] > 2.0 and losses[-1] < 0.5 and scores["train"] < 0.5


def test_generate_continues_what_it_learned(trained_bigram):
    model, params, _, _ = trained_bigram
    tokens = codealong.generate(model, params, np.array([3]), 12, block_size=8)
    assert np.array_equal(tokens, (np.arange(13) + 3) % 11)


def test_each_checker_passes_the_video_module():
    for check, module in [
        (codealong.check_bigram, codealong.BigramLanguageModel),
        (codealong.check_head, codealong.Head),
        (codealong.check_multi_head, codealong.MultiHeadAttention),
        (codealong.check_feed_foward, codealong.FeedFoward),
        (codealong.check_block, codealong.Block),
    ]:
        assert check(module, verbose=False).passed, check.__name__
    assert codealong.check_averaging(codealong.average_softmax, verbose=False).passed


class HeadWith(nn.Module):
    """The video's Head with one slip: `scale` the factor on q kᵀ (None: D**-0.5), `causal`."""

    config: codealong.CodeAlongConfig
    head_size: int
    scale: float | None = None
    causal: bool = True

    @nn.compact
    def __call__(self, x_BxTxC, train=False):
        T = x_BxTxC.shape[1]
        k, q, v = (codealong.Linear(self.head_size, use_bias=False, name=n)(x_BxTxC) for n in ("key", "query", "value"))
        wei = q @ jnp.swapaxes(k, -1, -2) * (self.head_size**-0.5 if self.scale is None else self.scale)
        if self.causal:
            wei = jnp.where(jnp.tril(jnp.ones((T, T), bool)), wei, -jnp.inf)
        return jax.nn.softmax(wei, axis=-1) @ v


@pytest.mark.parametrize(
    "slip, words",
    [
        (dict(scale=1.0), "not scaled"),
        (dict(scale=CONFIG.n_embd**-0.5), "1/sqrt(C)"),
        (dict(causal=False), "not causal"),
    ],
)
def test_check_head_names_the_slip(slip, words):
    result = codealong.check_head(functools.partial(HeadWith, **slip), verbose=False)
    assert not result.passed and words in result.diagnosis, result


def test_check_head_says_the_video_has_no_bias_and_a_stub_is_not_written():
    class Biased(nn.Module):
        config: codealong.CodeAlongConfig
        head_size: int

        @nn.compact
        def __call__(self, x, train=False):
            return nn.Dense(self.head_size, name="key")(x)

    assert "use_bias=False" in codealong.check_head(Biased, verbose=False).diagnosis

    class Stub(Biased):
        def __call__(self, x, train=False):
            raise NotImplementedError

    assert codealong.check_head(Stub, verbose=False).not_written


class PostLNBlock(nn.Module):
    """The 2017 paper's order: ln(x + f(x))."""

    config: codealong.CodeAlongConfig

    @nn.compact
    def __call__(self, x_BxTxC, train=False):
        config = self.config
        sublayers = [("ln1", codealong.MultiHeadAttention(config, config.n_head, config.head_size, name="sa"))]
        sublayers.append(("ln2", codealong.FeedFoward(config, name="ffwd")))
        for ln_name, f in sublayers:
            y_BxTxC = x_BxTxC + f(x_BxTxC) if config.residual else f(x_BxTxC)
            x_BxTxC = nn.LayerNorm(epsilon=1e-5, name=ln_name)(y_BxTxC) if config.layernorm else y_BxTxC
        return x_BxTxC


def test_check_block_names_post_ln_and_check_feed_foward_a_missing_relu():
    result = codealong.check_block(PostLNBlock, verbose=False)
    assert not result.passed and "post-LN" in result.diagnosis, result

    class NoReLU(codealong.FeedFoward):
        @nn.compact
        def __call__(self, x_BxTxC, train=False):
            C = self.config.n_embd
            if not self.config.residual:
                return codealong.Linear(C, name="net_0")(x_BxTxC)
            return codealong.Linear(C, name="net_2")(codealong.Linear(4 * C, name="net_0")(x_BxTxC))

    result = codealong.check_feed_foward(NoReLU, verbose=False)
    assert not result.passed and "no ReLU" in result.diagnosis, result


def test_check_averaging_names_the_sum_and_check_bigram_the_columns():
    result = codealong.check_averaging(lambda x: np.cumsum(x, axis=1), verbose=False)
    assert not result.passed and "sums the past" in result.diagnosis

    class Transposed(nn.Module):
        n: int

        @nn.compact
        def __call__(self, idx_BxT):
            return self.param("embedding", nn.initializers.normal(1.0), (self.n, self.n)).T[idx_BxT]

    class Columns(nn.Module):
        vocab_size: int = 65

        @nn.compact
        def __call__(self, idx_BxT, train=False):
            return Transposed(self.vocab_size, name="token_embedding_table")(idx_BxT)

    result = codealong.check_bigram(Columns, verbose=False)
    assert not result.passed and "columns" in result.diagnosis, result


def test_estimate_loss_scores_both_splits_as_the_video(trained_bigram):
    model, params, _, _ = trained_bigram
    tokens = np.tile(np.arange(11, dtype=np.uint16), 50)
    data = Dataset(train=tokens, val=tokens[::-1].copy(), tokenizer=None)  # val runs backwards: unseen order
    losses = codealong.estimate_loss(model, params, data, block_size=8, batch_size=4, eval_iters=3)
    assert losses["train"] < 0.5 < 2.0 < losses["val"]


def test_stage_model_puts_your_head_inside_the_video_model():
    model = codealong.stage_model(BLOCK, head=functools.partial(HeadWith, causal=False))
    idx_BxT = jax.random.randint(jax.random.key(4), (1, 8), 0, 65)
    params = codealong.init_params(model, 8)
    assert jax.tree.structure(params) == jax.tree.structure(codealong.init_params(codealong.GPTLanguageModel(BLOCK), 8))
    changed_BxT = idx_BxT.at[:, 5:].set(0)  # a head that is not causal lets the past see the future
    assert not np.allclose(
        model.apply({"params": params}, changed_BxT)[:, :5], model.apply({"params": params}, idx_BxT)[:, :5]
    )
