"""The whole-split loss: every target scored exactly once, and the mean of the right numbers."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.evaluate import split_windows, whole_split_loss

T = 5


@pytest.mark.parametrize("length", [21, 23])  # 20 targets: whole windows only; 22: a shorter last piece
def test_windows_score_every_target_once_with_its_own_input(length):
    tokens = np.arange(100, 100 + length)
    x_NxT, y_NxT, counted_NxT = split_windows(tokens, T)
    np.testing.assert_array_equal(y_NxT, x_NxT + 1)  # the next token of each input position
    assert sorted(y_NxT[counted_NxT]) == list(tokens[1:])  # every token but the first, once


def test_whole_split_loss_is_the_mean_over_every_target():
    config = GPTConfig(vocab_size=11, block_size=T, n_layer=1, n_head=1, n_embd=8)
    model = GPT(config)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, T), jnp.int32))["params"]
    tokens = np.random.default_rng(0).integers(0, 11, size=23)
    # by hand: windows 0-5, 5-10, 10-15, 15-20, then the last window 17-22 scores targets 21 and 22 only
    forward = jax.jit(model.apply)
    losses = []
    for start, first_new in [(0, 0), (5, 0), (10, 0), (15, 0), (17, 3)]:
        logits_TxV = forward({"params": params}, tokens[None, start : start + T])[0]
        per_token_T = optax.softmax_cross_entropy_with_integer_labels(logits_TxV, tokens[start + 1 : start + T + 1])
        losses.extend(np.asarray(per_token_T)[first_new:])
    assert len(losses) == 22
    got = whole_split_loss(model, params, tokens, T, batch_size=2)  # 5 windows in batches of 2: one padded
    assert got == pytest.approx(np.mean(losses), rel=1e-6)


def test_split_over_the_devices_the_loss_is_the_same():
    from jaxgpt.training.devices.sharding import data_mesh

    config = GPTConfig(vocab_size=11, block_size=T, n_layer=1, n_head=1, n_embd=8)
    model = GPT(config)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, T), jnp.int32))["params"]
    tokens = np.random.default_rng(1).integers(0, 11, size=60)
    mesh = data_mesh()
    assert mesh.size == 2  # the suite's two simulated devices
    on_mesh = whole_split_loss(model, params, tokens, T, batch_size=4, mesh=mesh)
    assert on_mesh == pytest.approx(whole_split_loss(model, params, tokens, T, batch_size=3), rel=1e-6)
