"""MultiHeadAttention against the NumPy reference, both paths, masks, dropout and sown weights."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64, random_mask

from jaxgpt import MultiHeadAttention, padding_mask, reference

B, T, S, H, D = 2, 7, 6, 3, 5  # odd sizes on purpose
C = H * D


@pytest.fixture(scope="module")
def inputs():
    key_x, key_context = jax.random.split(jax.random.key(0))
    return jax.random.normal(key_x, (B, T, C)), jax.random.normal(key_context, (B, S, C))


def init(module, *args):
    return module.init(jax.random.key(1), *args)["params"]


# (causal, rotary, mask shape): random masks broadcast over heads, or per head
SELF_ATTENTION_CASES = [
    (False, False, None),
    (True, False, None),
    (False, False, (B, 1, T, T)),
    (True, False, (B, H, T, T)),
    (True, True, (B, 1, 1, T)),
]


@pytest.mark.parametrize("causal,rotary,mask_shape", SELF_ATTENTION_CASES)
def test_self_attention_equals_reference(inputs, causal, rotary, mask_shape):
    x, _ = inputs
    if rotary:  # rotary needs an even head size: 3 heads of 4
        x = x[..., :12]
    module = MultiHeadAttention(n_head=H, causal=causal, rotary=rotary, init_std=0.3, proj_init_std=0.3)
    mask = None if mask_shape is None else random_mask(np.random.default_rng(2), mask_shape)
    params = init(module, x)
    out, state = module.apply({"params": params}, x, mask=mask, mutable=["intermediates"])
    expected_out, expected_weights = reference.multi_head_attention(
        f64(x), f64(params), H, mask=mask, causal=causal, rotary=rotary
    )
    assert_close(out, expected_out)
    (weights,) = state["intermediates"]["attention_weights"]
    assert_close(weights, expected_weights)


def test_cross_attention_equals_reference_and_ignores_padded_keys(inputs):
    x, context = inputs
    src = jnp.array([[5, 3, 2, 0, 0, 0], [1, 1, 1, 1, 1, 4]])  # 0 is padding
    mask = padding_mask(src, pad_id=0)
    module = MultiHeadAttention(n_head=H, init_std=0.3, proj_init_std=0.3)
    params = init(module, x, context)
    assert set(params) == {"c_q", "c_kv", "c_proj"}
    out, state = module.apply({"params": params}, x, context, mask=mask, mutable=["intermediates"])
    expected_out, expected_weights = reference.multi_head_attention(
        f64(x), f64(params), H, context_BxSxC=f64(context), mask=np.asarray(mask)
    )
    assert_close(out, expected_out)
    (weights,) = state["intermediates"]["attention_weights"]
    assert weights.shape == (B, H, T, S)
    assert np.all(np.asarray(weights)[0, :, :, 3:] == 0.0)  # padded keys get exactly zero weight
    assert_close(weights.sum(-1), np.ones((B, H, T)))


def test_padded_keys_do_not_change_the_output(inputs):
    x, context = inputs
    mask = padding_mask(jnp.array([[1, 1, 1, 1, 0, 0]] * B), pad_id=0)
    module = MultiHeadAttention(n_head=H)
    params = init(module, x, context)
    changed_context = context.at[:, 4:].set(100.0)
    assert_close(
        module.apply({"params": params}, x, context, mask=mask),
        module.apply({"params": params}, x, changed_context, mask=mask),
    )


@pytest.mark.parametrize("causal", [False, True])
def test_fast_path_equals_manual_path(inputs, causal):
    x, context = inputs
    mask = random_mask(np.random.default_rng(4), (B, 1, T, T))
    manual = MultiHeadAttention(n_head=H, causal=causal, implementation="manual")
    fast = manual.clone(implementation="xla")
    params = init(manual, x)
    assert_close(fast.apply({"params": params}, x, mask=mask), manual.apply({"params": params}, x, mask=mask))
    cross_params = init(manual.clone(causal=False), x, context)
    assert_close(
        fast.clone(causal=False).apply({"params": cross_params}, x, context),
        manual.clone(causal=False).apply({"params": cross_params}, x, context),
    )


def test_causal_attention_weights_are_zero_above_the_diagonal(inputs):
    x, _ = inputs
    module = MultiHeadAttention(n_head=H, causal=True)
    _, state = module.apply({"params": init(module, x)}, x, mutable=["intermediates"])
    (weights,) = state["intermediates"]["attention_weights"]
    upper = np.triu(np.ones((T, T), bool), k=1)
    assert np.all(np.asarray(weights)[..., upper] == 0.0)
    assert np.all(np.asarray(weights)[..., ~upper] > 0.0)


def test_decoding_with_a_kv_cache_equals_attention_over_the_whole_sequence(inputs):
    x, _ = inputs
    module = MultiHeadAttention(n_head=H, causal=True, max_len=T + 3, init_std=0.3, proj_init_std=0.3)
    params = init(module, x)
    out, variables = module.apply({"params": params}, x[:, :3], decode=True, mutable=["cache"])
    cache, outs = variables["cache"], [out]
    assert cache["cached_key"].shape == (B * H, T + 3, D)  # the layout attention reads, heads within batch
    # a cache shorter than max_len works too (generate grows it with the text): each token reads
    # only the slots up to its own position
    cache |= {name: cache[name][:, :T] for name in ("cached_key", "cached_value")}
    for t in range(3, T):
        out, variables = module.apply(
            {"params": params, "cache": cache}, x[:, t : t + 1], decode=True, mutable=["cache"]
        )
        cache, outs = variables["cache"], [*outs, out]
    assert_close(jnp.concatenate(outs, axis=1), module.apply({"params": params}, x))


def test_attention_dropout_is_random_in_training_and_off_in_evaluation(inputs):
    x, _ = inputs
    module = MultiHeadAttention(n_head=H, dropout=0.3, implementation="xla")
    params = init(module, x)
    evaluation = module.apply({"params": params}, x)
    run = lambda seed: module.apply({"params": params}, x, deterministic=False, rngs={"dropout": jax.random.key(seed)})
    assert not np.allclose(run(0), evaluation, atol=1e-3)
    assert not np.allclose(run(0), run(1), atol=1e-3)
    assert_close(run(5), run(5))
    assert_close(evaluation, module.clone(dropout=0.0, implementation="manual").apply({"params": params}, x))


@pytest.mark.parametrize("implementation", ["manual", "xla"])
def test_attention_runs_under_jit_and_grad(inputs, implementation):
    x, _ = inputs
    module = MultiHeadAttention(n_head=H, causal=True, implementation=implementation)
    params = init(module, x)
    apply = lambda p, x: module.apply({"params": p}, x)
    assert_close(jax.jit(apply)(params, x), apply(params, x))
    grads = jax.grad(lambda p: jnp.sum(apply(p, x) ** 2))(params)
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in jax.tree.leaves(grads))
    x_grad = jax.grad(lambda x: apply(params, x)[:, 2].sum())(x)
    # causal: the output at position 2 has no gradient with respect to later positions
    assert np.all(np.asarray(x_grad)[:, 3:] == 0.0) and np.abs(np.asarray(x_grad)[:, :3]).sum() > 0


def test_width_not_divisible_by_heads_is_a_clear_error(inputs):
    x, _ = inputs
    with pytest.raises(ValueError, match="width 15 is not divisible by n_head=4"):
        MultiHeadAttention(n_head=4).init(jax.random.key(0), x)


def test_cudnn_off_a_gpu_is_a_clear_error(inputs):
    x, _ = inputs
    module = MultiHeadAttention(n_head=H, causal=True, implementation="cudnn")
    with pytest.raises(ValueError, match="attention_impl='cudnn' needs an NVIDIA GPU, but JAX runs on cpu"):
        module.init(jax.random.key(0), x.astype(jnp.bfloat16))
