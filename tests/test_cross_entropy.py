"""The hand-written cross-entropy gradient against optax's losses differentiated by JAX."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgpt.training.step.cross_entropy import cross_entropy

V = 37


def optax_cross_entropy(logits_BxTxV, targets_BxT, label_smoothing):
    logits_BxTxV = logits_BxTxV.astype(jnp.float32)
    target_BxTxV = optax.smooth_labels(jax.nn.one_hot(targets_BxT, V), label_smoothing)
    return optax.softmax_cross_entropy(logits_BxTxV, target_BxTxV)


@pytest.fixture(scope="module")
def batch():
    logits_BxTxV = 3.0 * jax.random.normal(jax.random.key(0), (2, 5, V))
    targets_BxT = jax.random.randint(jax.random.key(1), (2, 5), 0, V)
    weights_BxT = jax.random.uniform(jax.random.key(2), (2, 5))  # an upstream gradient that is not all ones
    return logits_BxTxV, targets_BxT, weights_BxT


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
def test_loss_and_gradient_equal_optax_in_float32(batch, label_smoothing):
    logits_BxTxV, targets_BxT, weights_BxT = batch

    def weighted(loss_fn):
        return lambda logits: jnp.sum(loss_fn(logits, targets_BxT, label_smoothing) * weights_BxT)

    ours, ours_grad = jax.value_and_grad(weighted(cross_entropy))(logits_BxTxV)
    theirs, theirs_grad = jax.value_and_grad(weighted(optax_cross_entropy))(logits_BxTxV)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    np.testing.assert_allclose(ours_grad, theirs_grad, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(
        cross_entropy(logits_BxTxV, targets_BxT, label_smoothing),
        optax_cross_entropy(logits_BxTxV, targets_BxT, label_smoothing),
        rtol=1e-6,
    )


def test_bfloat16_logits_get_a_bfloat16_gradient_computed_in_float32(batch):
    logits_BxTxV, targets_BxT, weights_BxT = batch
    logits16_BxTxV = logits_BxTxV.astype(jnp.bfloat16)
    loss_fn = lambda logits: jnp.sum(cross_entropy(logits, targets_BxT, 0.0) * weights_BxT)
    loss, grad16 = jax.value_and_grad(loss_fn)(logits16_BxTxV)
    # the reference: the same bfloat16 numbers, upcast first and differentiated in float32
    reference, grad32 = jax.value_and_grad(loss_fn)(logits16_BxTxV.astype(jnp.float32))
    assert loss.dtype == jnp.float32 and grad16.dtype == jnp.bfloat16
    np.testing.assert_allclose(loss, reference, rtol=1e-6)
    np.testing.assert_array_equal(grad16, grad32.astype(jnp.bfloat16))


def test_the_backward_pass_keeps_no_float32_copy_of_bfloat16_logits(batch):
    logits_BxTxV, targets_BxT, _ = batch
    logits16_BxTxV = logits_BxTxV.astype(jnp.bfloat16)
    _, vjp_fn = jax.vjp(lambda logits: cross_entropy(logits, targets_BxT, 0.0), logits16_BxTxV)
    saved = [leaf for leaf in jax.tree.leaves(vjp_fn) if hasattr(leaf, "shape")]
    logit_sized = [leaf.dtype for leaf in saved if leaf.size == logits16_BxTxV.size]
    assert logit_sized == [jnp.bfloat16]
