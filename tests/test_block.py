import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64, random_mask, randomise

from jaxgpt import TransformerBlock, padding_mask, reference

B, T, S, H, C = 2, 7, 5, 3, 15


@pytest.fixture(scope="module")
def inputs():
    key_x, key_context = jax.random.split(jax.random.key(0))
    return jax.random.normal(key_x, (B, T, C)), jax.random.normal(key_context, (B, S, C))


@pytest.mark.parametrize("norm_first", [True, False])
@pytest.mark.parametrize("causal", [True, False])
def test_block_equals_reference(inputs, norm_first, causal):
    x, _ = inputs
    mask = random_mask(np.random.default_rng(2), (B, 1, 1, T))
    block = TransformerBlock(n_head=H, d_ff=22, causal=causal, norm_first=norm_first)
    params = randomise(block.init(jax.random.key(0), x)["params"])
    assert set(params) == {"ln_1", "attn", "ln_2", "mlp"}
    out = block.apply({"params": params}, x, mask=mask)
    expected = reference.transformer_block(f64(x), f64(params), H, mask=mask, causal=causal, norm_first=norm_first)
    assert_close(out, expected)


@pytest.mark.parametrize("norm_first", [True, False])
def test_decoder_block_with_cross_attention_equals_reference(inputs, norm_first):
    x, context = inputs
    context_mask = padding_mask(jnp.array([[3, 4, 0, 0, 0], [1, 2, 3, 4, 5]]), pad_id=0)
    block = TransformerBlock(
        n_head=H, d_ff=22, causal=True, cross_attention=True, norm_first=norm_first, activation="relu"
    )
    params = randomise(block.init(jax.random.key(0), x, context_BxSxC=context)["params"])
    assert set(params) == {"ln_1", "attn", "ln_cross_attn", "crossattention", "ln_2", "mlp"}
    out = block.apply({"params": params}, x, context_BxSxC=context, context_mask=context_mask)
    expected = reference.transformer_block(
        f64(x),
        f64(params),
        H,
        context_BxSxC=f64(context),
        context_mask=np.asarray(context_mask),
        causal=True,
        norm_first=norm_first,
        activation="relu",
    )
    assert_close(out, expected)


def test_pre_ln_block_keeps_a_clean_residual_path(inputs):
    x, _ = inputs
    block = TransformerBlock(n_head=H, d_ff=22)
    params = block.init(jax.random.key(0), x)["params"]
    # zero the two residual projections: a pre-LN block is then exactly the identity
    params = jax.tree_util.tree_map_with_path(
        lambda path, p: jnp.zeros_like(p) if "c_proj" in jax.tree_util.keystr(path) else p, params
    )
    assert_close(block.apply({"params": params}, x), x, tol=1e-7)
    # while post-LN normalises the output, so it is not
    post_ln = block.clone(norm_first=False)
    assert not np.allclose(post_ln.apply({"params": params}, x), x, atol=1e-2)


def test_context_must_match_cross_attention_flag(inputs):
    x, context = inputs
    with pytest.raises(ValueError, match="cross_attention=False but context was given"):
        TransformerBlock(n_head=H, d_ff=22).init(jax.random.key(0), x, context_BxSxC=context)
    with pytest.raises(ValueError, match="cross_attention=True but context was not given"):
        TransformerBlock(n_head=H, d_ff=22, cross_attention=True).init(jax.random.key(0), x)


def test_block_runs_under_jit_and_grad(inputs):
    x, context = inputs
    block = TransformerBlock(n_head=H, d_ff=22, causal=True, cross_attention=True, dropout=0.1)
    params = block.init(jax.random.key(0), x, context_BxSxC=context)["params"]

    def loss(p):
        out = block.apply(
            {"params": p}, x, context_BxSxC=context, deterministic=False, rngs={"dropout": jax.random.key(3)}
        )
        return jnp.mean(out**2)

    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert np.isfinite(value)
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in jax.tree.leaves(grads))
