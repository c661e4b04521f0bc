import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64

from jaxgpt import LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding, reference


@pytest.mark.parametrize("n_embd", [16, 15])
def test_sinusoidal_encoding_matches_the_papers_formula(n_embd):
    positions = np.arange(50)
    encoding = SinusoidalPositionalEncoding(n_embd).apply({}, positions)
    for pos in [0, 1, 7, 49]:
        for i in range((n_embd + 1) // 2):
            angle = pos / 10000 ** (2 * i / n_embd)
            assert encoding[pos, 2 * i] == pytest.approx(math.sin(angle), abs=2e-5)
            if 2 * i + 1 < n_embd:
                assert encoding[pos, 2 * i + 1] == pytest.approx(math.cos(angle), abs=2e-5)
    assert_close(encoding, reference.sinusoidal_position_encoding(positions, n_embd))


def test_learned_embedding_looks_up_table_rows():
    module = LearnedPositionalEmbedding(block_size=11, n_embd=6)
    params = module.init(jax.random.key(0), jnp.arange(3))["params"]
    assert params["embedding"].shape == (11, 6)
    positions = jnp.array([4, 0, 10])
    np.testing.assert_array_equal(module.apply({"params": params}, positions), params["embedding"][positions])


@pytest.fixture(scope="module")
def q_and_k():
    key_q, key_k = jax.random.split(jax.random.key(3))
    return jax.random.normal(key_q, (2, 3, 9, 8)), jax.random.normal(key_k, (2, 3, 9, 8))


def test_rotary_equals_reference_and_keeps_norms(q_and_k):
    q, _ = q_and_k
    positions = jnp.arange(9)
    rotated = RotaryEmbedding().apply({}, q, positions)
    assert_close(rotated, reference.rotary_embedding(f64(q), np.arange(9)))
    # a rotation changes directions, never lengths
    assert_close(jnp.linalg.norm(rotated, axis=-1), jnp.linalg.norm(q, axis=-1))
    assert not np.allclose(rotated[:, :, 1:], q[:, :, 1:])


def test_rotary_scores_depend_only_on_relative_offset(q_and_k):
    q, k = q_and_k
    rope = RotaryEmbedding()

    def score(m, n):  # q placed at position m, k at position n
        q_m = rope.apply({}, q, jnp.full((9,), m))
        k_n = rope.apply({}, k, jnp.full((9,), n))
        return jnp.sum(q_m * k_n, axis=-1)

    assert_close(score(3, 1), score(10, 8), tol=1e-4)
    assert_close(score(0, 5), score(20, 25), tol=1e-4)
    assert not np.allclose(score(3, 1), score(3, 2), atol=1e-3)
