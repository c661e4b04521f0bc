"""TokenEmbedding: nn.Embed's numbers and parameters, with a gradient that is a matrix product
(no scatter-add) for small vocabularies."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt.model.embedding import MATMUL_GRADIENT_MAX_VOCAB, TokenEmbedding


def skewed_ids(vocab_size: int, shape=(6, 32)):
    """Ids as characters are: a few tokens most of the time, so many rows of the gradient collide."""
    rng = np.random.default_rng(0)
    frequent = rng.integers(0, vocab_size, 3)
    ids = np.where(rng.random(shape) < 0.7, rng.choice(frequent, shape), rng.integers(0, vocab_size, shape))
    return jnp.asarray(ids, jnp.int32)


@pytest.mark.parametrize("vocab_size", [65, MATMUL_GRADIENT_MAX_VOCAB + 1])
def test_same_outputs_parameters_and_gradient_as_flax_embed(vocab_size):
    ids_BxT = skewed_ids(vocab_size)
    ours, flax_embed = TokenEmbedding(vocab_size, 16), nn.Embed(vocab_size, 16)
    params = ours.init(jax.random.key(0), ids_BxT)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, flax_embed.init(jax.random.key(0), ids_BxT))
    upstream_BxTxC = jax.random.normal(jax.random.key(1), (*ids_BxT.shape, 16))

    def weighted_sum(module):
        return lambda p: (module.apply(p, ids_BxT) * upstream_BxTxC).sum()

    np.testing.assert_array_equal(ours.apply(params, ids_BxT), flax_embed.apply(params, ids_BxT))
    ours_grad = jax.grad(weighted_sum(ours))(params)["params"]["embedding"]
    flax_grad = jax.grad(weighted_sum(flax_embed))(params)["params"]["embedding"]
    np.testing.assert_allclose(ours_grad, flax_grad, rtol=1e-6, atol=1e-6)
    # attend (the tied output layer) is nn.Embed's
    x_NxC = jax.random.normal(jax.random.key(2), (3, 16))
    np.testing.assert_array_equal(
        ours.apply(params, x_NxC, method="attend"), flax_embed.apply(params, x_NxC, method="attend")
    )


def compiled_gradient_text(vocab_size: int) -> str:
    ids_BxT = skewed_ids(vocab_size)
    module = TokenEmbedding(vocab_size, 16)
    params = module.init(jax.random.key(0), ids_BxT)
    return jax.jit(jax.grad(lambda p: module.apply(p, ids_BxT).sum())).lower(params).as_text()


def test_a_small_vocabulary_gradient_has_no_scatter_and_a_large_one_keeps_it():
    assert "scatter" not in compiled_gradient_text(65)
    assert "scatter" in compiled_gradient_text(MATMUL_GRADIENT_MAX_VOCAB + 1)
