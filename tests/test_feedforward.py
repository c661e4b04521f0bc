import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64

from jaxgpt import FeedForward, reference


@pytest.fixture(scope="module")
def x_BxTxC():
    return jax.random.normal(jax.random.key(0), (3, 7, 15))


@pytest.mark.parametrize("activation", ["gelu_tanh", "gelu", "relu"])
@pytest.mark.parametrize("bias", [True, False])
def test_feedforward_equals_reference(x_BxTxC, activation, bias):
    module = FeedForward(d_ff=22, bias=bias, activation=activation, init_std=0.3, proj_init_std=0.3)
    params = module.init(jax.random.key(1), x_BxTxC)["params"]
    assert set(params) == {"c_fc", "c_proj"}
    assert params["c_fc"]["kernel"].shape == (15, 22) and params["c_proj"]["kernel"].shape == (22, 15)
    assert ("bias" in params["c_fc"]) == bias
    out = module.apply({"params": params}, x_BxTxC)
    assert_close(out, reference.feed_forward(f64(x_BxTxC), f64(params), activation))


def test_feedforward_dropout_only_when_not_deterministic(x_BxTxC):
    module = FeedForward(d_ff=22, dropout=0.5)
    variables = module.init(jax.random.key(1), x_BxTxC)
    evaluation = module.apply(variables, x_BxTxC)
    training = module.apply(variables, x_BxTxC, deterministic=False, rngs={"dropout": jax.random.key(2)})
    zeroed = np.asarray(training) == 0.0
    assert 0.3 < zeroed.mean() < 0.7  # about half the outputs are dropped
    # the kept ones are scaled by 1 / (1 - rate)
    assert_close(np.asarray(training)[~zeroed], 2.0 * np.asarray(evaluation)[~zeroed])


def test_feedforward_runs_under_jit_and_grad(x_BxTxC):
    module = FeedForward(d_ff=22)
    params = module.init(jax.random.key(1), x_BxTxC)["params"]
    apply = lambda p: module.apply({"params": p}, x_BxTxC)
    assert_close(jax.jit(apply)(params), apply(params))
    grads = jax.grad(lambda p: jnp.sum(apply(p) ** 2))(params)
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in jax.tree.leaves(grads))


def test_dense_on_flattened_tokens_equals_flax_dense(x_BxTxC):
    import flax.linen as nn

    from jaxgpt.model.dense import Dense

    params = nn.Dense(9).init(jax.random.key(0), x_BxTxC)
    assert jax.tree.structure(Dense(9).init(jax.random.key(0), x_BxTxC)) == jax.tree.structure(params)
    assert_close(Dense(9).apply(params, x_BxTxC), nn.Dense(9).apply(params, x_BxTxC), tol=1e-6)
    assert Dense(9).apply(params, x_BxTxC[0, 0]).shape == (9,)  # any leading axes, none included
