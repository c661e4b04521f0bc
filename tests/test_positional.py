import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64, randomise

from jaxgpt import GPT, GPTConfig, LearnedPositionalEmbedding, RotaryEmbedding, SinusoidalPositionalEncoding, reference
from jaxgpt.errors import InputError
from jaxgpt.model import positional


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


# ---- the table of kinds: every model asks it, so a new kind is one entry (and its NumPy twin) ----


def test_every_position_kind_has_a_numpy_twin():
    assert list(reference.POSITIONS) == list(positional.POSITIONS)
    for name, kind in positional.POSITIONS.items():
        twin = reference.POSITIONS[name]
        assert set(twin) <= set(positional.PositionKind._fields), name
        assert (twin["embedding"] is None) == (kind.embedding is None), name
        assert twin.get("rotary", False) == kind.rotary, name


@pytest.mark.parametrize("name", [n for n, kind in positional.POSITIONS.items() if kind.embedding is not None])
def test_each_kinds_embedding_equals_its_numpy_twin(name):
    positions_T = jnp.array([0, 3, 1, 8])
    module = positional.POSITIONS[name].embedding(9, 6)
    variables = module.init(jax.random.key(0), positions_T)
    expected_TxC = reference.POSITIONS[name]["embedding"](np.asarray(positions_T), f64(variables).get("params"), 6)
    assert_close(module.apply(variables, positions_T), expected_TxC)


def gpt_equals_reference(position):
    # 3 heads of 4: an even head size, as rotary kinds need
    config = GPTConfig(vocab_size=23, block_size=9, n_layer=1, n_head=3, n_embd=12, position=position)
    idx_BxT = jax.random.randint(jax.random.key(0), (2, 9), 0, 23)
    model = GPT(config)
    params = randomise(jax.jit(model.init)(jax.random.key(1), idx_BxT)["params"], scale=0.2)
    logits_BxTxV = jax.jit(model.apply)({"params": params}, idx_BxT)
    assert_close(logits_BxTxV, reference.gpt(np.asarray(idx_BxT), f64(params), config), tol=1e-4)
    return params


@pytest.mark.parametrize("name", list(positional.POSITIONS))
def test_gpt_with_each_position_kind_equals_reference(name):
    params = gpt_equals_reference(name)
    # GPT-2's checkpoint key: only a kind with a trained table has parameters under wpe
    assert ("wpe" in params) == (name == "learned")


def test_a_new_kind_is_one_entry_in_each_table(monkeypatch):
    # "none": no position information at all (a causal model can still infer some, from the mask)
    monkeypatch.setitem(positional.POSITIONS, "none", positional.PositionKind(embedding=None))
    monkeypatch.setitem(reference.POSITIONS, "none", {"embedding": None})
    params = gpt_equals_reference("none")
    assert "wpe" not in params


def test_config_rejects_an_unknown_position_naming_the_known_ones():
    with pytest.raises(InputError) as error:
        GPTConfig(position="alibi")
    message = str(error.value)
    assert "position='alibi'" in message and "\n" not in message
    assert all(name in message for name in positional.POSITIONS)
