"""The NumPy reference against formulas written a second, independent way (loops, math module)."""

import math

import numpy as np
import pytest
from helpers import random_mask

from jaxgpt.model import reference


def test_softmax_is_normalised_exponential():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, -1000.0]])
    expected_first = [math.exp(v) / sum(math.exp(w) for w in x[0]) for v in x[0]]
    np.testing.assert_allclose(reference.softmax(x)[0], expected_first, rtol=1e-12)
    # large logits stay finite thanks to the max subtraction
    np.testing.assert_allclose(reference.softmax(x)[1], [0.5, 0.5, 0.0], atol=1e-12)


def test_gelu_matches_known_values():
    # GELU(x) = x * Phi(x); Phi(1) = 0.8413447460685429
    np.testing.assert_allclose(
        reference.gelu(np.array([1.0, -1.0, 0.0])), [0.8413447460685429, -0.15865525393145707, 0.0]
    )
    x = np.linspace(-5, 5, 101)
    # the tanh form is an approximation: close to exact, but not equal
    difference = np.abs(reference.gelu_tanh(x) - reference.gelu(x))
    assert difference.max() < 1e-3 and difference.max() > 1e-5


def test_attention_equals_per_query_loop():
    rng = np.random.default_rng(0)
    T, S, D = 4, 6, 5
    q, k, v = rng.normal(size=(T, D)), rng.normal(size=(S, D)), rng.normal(size=(S, D))
    mask = random_mask(rng, (T, S))
    out, weights = reference.attention(q, k, v, mask)
    for t in range(T):
        scores = [sum(q[t, d] * k[s, d] for d in range(D)) / math.sqrt(D) for s in range(S)]
        exps = [math.exp(score) if mask[t, s] else 0.0 for s, score in enumerate(scores)]
        expected_weights = [e / sum(exps) for e in exps]
        np.testing.assert_allclose(weights[t], expected_weights, rtol=1e-12)
        np.testing.assert_allclose(out[t], np.array(expected_weights) @ v, rtol=1e-12)


def test_multi_head_attention_equals_heads_computed_one_by_one():
    rng = np.random.default_rng(1)
    B, T, H, D = 2, 5, 3, 4
    C = H * D
    params = {
        "c_attn": {"kernel": rng.normal(size=(C, 3 * C)), "bias": rng.normal(size=3 * C)},
        "c_proj": {"kernel": rng.normal(size=(C, C)), "bias": rng.normal(size=C)},
    }
    x = rng.normal(size=(B, T, C))
    out, _ = reference.multi_head_attention(x, params, H, causal=True)
    W, b = params["c_attn"]["kernel"], params["c_attn"]["bias"]
    heads = []
    for h in range(H):  # head h owns columns h*D:(h+1)*D of each of q, k, v
        cols = [slice(part * C + h * D, part * C + (h + 1) * D) for part in range(3)]
        q, k, v = (x @ W[:, c] + b[c] for c in cols)
        heads.append(reference.attention(q, k, v, np.tril(np.ones((T, T), bool)))[0])
    expected = np.concatenate(heads, axis=-1) @ params["c_proj"]["kernel"] + params["c_proj"]["bias"]
    np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_layer_norm_gives_zero_mean_unit_variance():
    x = np.random.default_rng(2).normal(3.0, 5.0, size=(2, 3, 16))
    y = reference.layer_norm(x, {"scale": np.ones(16), "bias": np.zeros(16)}, epsilon=0.0)
    np.testing.assert_allclose(y.mean(-1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(-1), 1.0, rtol=1e-12)


@pytest.mark.parametrize("T,S", [(3, 3), (2, 5)])
def test_causal_mask_lets_the_last_query_see_every_key(T, S):
    mask = reference.causal_mask(T, S)
    for t in range(T):
        for s in range(S):
            assert mask[t, s] == (s <= t + S - T)
