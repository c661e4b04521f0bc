import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64

from jaxgpt import LayerNorm, reference


@pytest.fixture(scope="module")
def x_BxTxC():
    return jax.random.normal(jax.random.key(0), (2, 7, 15)) * 3.0 + 1.5


def random_params(C, use_bias=True):
    key_scale, key_bias = jax.random.split(jax.random.key(1))
    params = {"scale": 1.0 + 0.1 * jax.random.normal(key_scale, (C,))}
    if use_bias:
        params["bias"] = 0.1 * jax.random.normal(key_bias, (C,))
    return params


@pytest.mark.parametrize("use_bias", [True, False])
def test_layernorm_equals_flax_builtin(x_BxTxC, use_bias):
    params = random_params(15, use_bias)
    ours = LayerNorm(epsilon=1e-5, use_bias=use_bias).apply({"params": params}, x_BxTxC)
    flax_builtin = nn.LayerNorm(epsilon=1e-5, use_bias=use_bias).apply({"params": params}, x_BxTxC)
    assert_close(ours, flax_builtin)


def test_layernorm_params_have_flax_names_and_init(x_BxTxC):
    params = LayerNorm().init(jax.random.key(0), x_BxTxC)["params"]
    assert set(params) == {"scale", "bias"}
    np.testing.assert_array_equal(params["scale"], np.ones(15))
    np.testing.assert_array_equal(params["bias"], np.zeros(15))


def test_layernorm_equals_reference(x_BxTxC):
    params = random_params(15)
    out = LayerNorm(epsilon=1e-5).apply({"params": params}, x_BxTxC)
    assert_close(out, reference.layer_norm(f64(x_BxTxC), f64(params), 1e-5))


def test_layernorm_runs_under_jit_and_grad(x_BxTxC):
    params = random_params(15)
    apply = lambda p, x: LayerNorm().apply({"params": p}, x)
    assert_close(jax.jit(apply)(params, x_BxTxC), apply(params, x_BxTxC))
    grads = jax.grad(lambda p: jnp.sum(apply(p, x_BxTxC) ** 3))(params)
    # d/d(bias) of sum(y^3) is sum(3 y^2) over positions, which is positive
    assert np.all(np.asarray(grads["bias"]) > 0)
