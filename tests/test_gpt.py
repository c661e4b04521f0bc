"""GPT against the NumPy reference forward pass, causality, names, init and the fast path."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64, randomise

from jaxgpt import GPT, GPTConfig, count_params, reference

# odd sizes on purpose; rotary needs an even head size, so it gets 3 heads of 6
ODD = dict(vocab_size=37, block_size=11, n_layer=2, n_head=3, n_embd=15)
CONFIGS = {
    "learned": GPTConfig(**ODD),
    "sinusoidal": GPTConfig(**ODD, position="sinusoidal", bias=False),
    "rotary": GPTConfig(**{**ODD, "n_embd": 18}, position="rotary", activation="gelu"),
}


@pytest.fixture(scope="module")
def idx_BxT():
    return jax.random.randint(jax.random.key(0), (3, 11), 0, 37)


@pytest.fixture(scope="module", params=list(CONFIGS))
def model_and_params(request, idx_BxT):
    model = GPT(CONFIGS[request.param])
    params = randomise(jax.jit(model.init)(jax.random.key(1), idx_BxT)["params"], scale=0.2)
    return model, params, jax.jit(lambda p, idx: model.apply({"params": p}, idx))


def test_gpt_forward_equals_reference(model_and_params, idx_BxT):
    model, params, forward = model_and_params
    logits = forward(params, idx_BxT)
    assert logits.shape == (3, 11, 37)
    assert_close(logits, reference.gpt(np.asarray(idx_BxT), f64(params), model.config), tol=1e-4)


def test_changing_future_tokens_leaves_past_logits_unchanged(model_and_params, idx_BxT):
    _, params, forward = model_and_params
    t = 5
    changed = idx_BxT.at[:, t + 1 :].set((idx_BxT[:, t + 1 :] + 1) % 37)
    before, after = forward(params, idx_BxT), forward(params, changed)
    np.testing.assert_array_equal(before[:, : t + 1], after[:, : t + 1])
    assert not np.allclose(before[:, t + 1 :], after[:, t + 1 :], atol=1e-3)


def test_fast_attention_path_equals_manual(model_and_params, idx_BxT):
    model, params, forward = model_and_params
    fast = GPT(GPTConfig(**{**model.config.__dict__, "attention_impl": "xla"}))
    assert_close(jax.jit(fast.apply)({"params": params}, idx_BxT), forward(params, idx_BxT), tol=1e-4)


def test_gradients_reach_every_parameter(model_and_params, idx_BxT):
    model, params, _ = model_and_params

    def loss(p):
        logits = model.apply({"params": p}, idx_BxT[:, :-1])
        return -jnp.mean(jax.nn.log_softmax(logits)[..., 0])

    grads = jax.jit(jax.grad(loss))(params)
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in jax.tree.leaves(grads))


def test_parameter_names_are_gpt2_checkpoint_keys(idx_BxT):
    params = jax.eval_shape(GPT(CONFIGS["learned"]).init, jax.random.key(0), idx_BxT)["params"]  # names and shapes
    paths = {
        jax.tree_util.keystr(path, simple=True, separator=".")
        for path, _ in jax.tree_util.tree_leaves_with_path(params)
    }
    block = {
        "ln_1.scale",
        "ln_1.bias",
        "attn.c_attn.kernel",
        "attn.c_attn.bias",
        "attn.c_proj.kernel",
        "attn.c_proj.bias",
        "ln_2.scale",
        "ln_2.bias",
        "mlp.c_fc.kernel",
        "mlp.c_fc.bias",
        "mlp.c_proj.kernel",
        "mlp.c_proj.bias",
    }
    expected = {"wte.embedding", "wpe.embedding", "ln_f.scale", "ln_f.bias"}
    expected |= {f"h_{i}.{name}" for i in range(2) for name in block}
    assert paths == expected
    assert params["h_0"]["attn"]["c_attn"]["kernel"].shape == (15, 45)  # GPT-2's (C, 3C) Conv1D layout


def test_gpt2_style_initialisation():
    config = GPTConfig(vocab_size=512, block_size=64, n_layer=8, n_head=4, n_embd=256)
    params = jax.jit(GPT(config).init)(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    block = params["h_3"]
    assert np.std(params["wte"]["embedding"]) == pytest.approx(0.02, rel=0.02)
    assert np.std(block["attn"]["c_attn"]["kernel"]) == pytest.approx(0.02, rel=0.02)
    residual_std = 0.02 / math.sqrt(2 * 8)
    assert np.std(block["attn"]["c_proj"]["kernel"]) == pytest.approx(residual_std, rel=0.02)
    assert np.std(block["mlp"]["c_proj"]["kernel"]) == pytest.approx(residual_std, rel=0.02)
    np.testing.assert_array_equal(block["mlp"]["c_fc"]["bias"], 0.0)
    np.testing.assert_array_equal(block["ln_1"]["scale"], 1.0)


def test_dropout_acts_only_in_training(idx_BxT):
    model = GPT(GPTConfig(**{**ODD, "dropout": 0.2}))
    variables = jax.jit(model.init)(jax.random.key(0), idx_BxT)
    apply = jax.jit(model.apply, static_argnames="deterministic")
    train = lambda seed: apply(variables, idx_BxT, deterministic=False, rngs={"dropout": jax.random.key(seed)})
    assert not np.allclose(train(0), train(1), atol=1e-4)
    assert_close(apply(variables, idx_BxT), jax.jit(GPT(GPTConfig(**ODD)).apply)(variables, idx_BxT))


def test_input_longer_than_block_size_is_a_clear_error():
    model = GPT(CONFIGS["learned"])
    with pytest.raises(ValueError, match="sequence length 12 exceeds block_size=11"):
        model.init(jax.random.key(0), jnp.zeros((1, 12), jnp.int32))


def test_gpt_nano_preset_runs_under_jit():
    model = GPT(GPTConfig.from_preset("gpt-nano"))
    idx = jnp.array([[15496, 11, 995]])  # "Hello, world" in GPT-2's BPE
    variables = jax.jit(model.init)(jax.random.key(0), idx)
    logits = jax.jit(model.apply)(variables, idx)
    assert logits.shape == (1, 3, 50257) and bool(jnp.all(jnp.isfinite(logits)))
    assert count_params(variables) == 50257 * 48 + 1024 * 48 + 3 * (12 * 48**2 + 13 * 48) + 2 * 48


def test_remat_recomputes_blocks_and_gives_the_same_gradients(idx_BxT):
    plain = GPT(CONFIGS["learned"])
    remat = GPT(GPTConfig(**ODD, remat=True))
    params = randomise(jax.jit(plain.init)(jax.random.key(1), idx_BxT)["params"], scale=0.2)
    remat_shapes = jax.eval_shape(remat.init, jax.random.key(1), idx_BxT)["params"]
    assert jax.tree.structure(remat_shapes) == jax.tree.structure(params)

    def loss(model):
        return lambda p: jnp.mean(model.apply({"params": p}, idx_BxT) ** 2)

    # the remat model's blocks are checkpointed, and its backward pass runs their forward matmuls
    # again: of each block's 6 (c_attn, q k^T, weights @ v, c_proj, c_fc, mlp c_proj) all but the
    # last, whose output the backward pass does not need; 2 blocks x 5 more than the plain model
    assert "remat" in str(jax.make_jaxpr(loss(remat))(params))
    count = lambda model: str(jax.make_jaxpr(jax.grad(loss(model)))(params)).count("dot_general")  # noqa: E731
    assert count(remat) == count(plain) + 2 * 5
    grads = [jax.jit(jax.grad(loss(model)))(params) for model in (remat, plain)]
    for a, b in zip(*map(jax.tree.leaves, grads)):
        assert_close(a, b, tol=1e-6)
