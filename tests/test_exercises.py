"""The learners' self-checks accept correct implementations and name the classic mistakes."""

import math

import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt.model import reference as ref
from jaxgpt.study.exercises import (
    check_attention,
    check_causal_mask,
    check_feed_forward,
    check_layer_norm,
    check_multi_head_attention,
    check_positional_encoding,
    check_rotary_embedding,
    check_transformer_block,
)

# ---- learner code: one right answer and the classic mistakes, written as a learner would ------


def softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def attention(q, k, v, mask=None, scale=True, softmax_axis=-1, mask_after=False):
    scores = q @ np.swapaxes(k, -1, -2)
    if scale:
        scores = scores / np.sqrt(q.shape[-1])
    if mask is not None and not mask_after:
        scores = np.where(mask, scores, -1e30)
    weights = softmax(scores, axis=softmax_axis)
    if mask is not None and mask_after:
        weights = weights * mask
    return weights @ v


def layer_norm(x, params, epsilon=1e-5, axis=-1):
    mean = x.mean(axis=axis, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=axis, keepdims=True)
    return (x - mean) / np.sqrt(var + epsilon) * params["scale"] + params["bias"]


def causal_mask(T, k=0):
    return np.tril(np.ones((T, T), dtype=bool), k=k)


def multi_head_attention(x, params, n_head, mask=None, causal=False, causal_k=0):
    B, T, C = x.shape
    qkv = x @ params["c_attn"]["kernel"] + params["c_attn"]["bias"]
    heads = [a.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3) for a in np.split(qkv, 3, axis=-1)]
    if causal:
        mask = causal_mask(T, causal_k) if mask is None else mask & causal_mask(T, causal_k)
    out = attention(*heads, mask).transpose(0, 2, 1, 3).reshape(B, T, C)
    return out @ params["c_proj"]["kernel"] + params["c_proj"]["bias"]


def positional_encoding(positions, C, swap=False):
    angles = np.asarray(positions)[:, None] / 10000 ** (np.arange(0, C, 2) / C)
    pe = np.zeros((len(positions), C))
    pe[:, 0::2], pe[:, 1::2] = (np.cos(angles), np.sin(angles)) if swap else (np.sin(angles), np.cos(angles))
    return pe


def gelu(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x**3)))


def feed_forward(x, params, activation="gelu_tanh", act=gelu):
    h = act(x @ params["c_fc"]["kernel"] + params["c_fc"]["bias"])
    return h @ params["c_proj"]["kernel"] + params["c_proj"]["bias"]


def transformer_block(x, params, n_head, post_ln=False):
    if post_ln:
        x = layer_norm(x + multi_head_attention(x, params["attn"], n_head, causal=True), params["ln_1"])
        return layer_norm(x + feed_forward(x, params["mlp"]), params["ln_2"])
    x = x + multi_head_attention(layer_norm(x, params["ln_1"]), params["attn"], n_head, causal=True)
    return x + feed_forward(layer_norm(x, params["ln_2"]), params["mlp"])


# ---- the checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "check,implementation",
    [
        (check_attention, attention),
        (check_attention, lambda q, k, v, mask=None: ref.attention(q, k, v, mask)),  # (out, weights) is fine
        (check_attention, lambda q, k, v, mask=None: np.asarray(attention(jnp.asarray(q), k, v, mask))),
        (check_causal_mask, causal_mask),
        (check_multi_head_attention, multi_head_attention),
        (check_layer_norm, layer_norm),
        (check_positional_encoding, positional_encoding),
        (check_feed_forward, feed_forward),
        (check_transformer_block, transformer_block),
        # and jaxgpt's own NumPy reference, which every Flax module is tested against
        (check_causal_mask, ref.causal_mask),
        (check_multi_head_attention, ref.multi_head_attention),
        (check_layer_norm, ref.layer_norm),
        (check_positional_encoding, ref.sinusoidal_position_encoding),
        (check_rotary_embedding, ref.rotary_embedding),
        (check_feed_forward, ref.feed_forward),
        (check_transformer_block, lambda x, params, n_head: ref.transformer_block(x, params, n_head, causal=True)),
    ],
)
def test_correct_implementations_pass(check, implementation, capsys):
    result = check(implementation)
    assert result.passed, str(result)
    assert capsys.readouterr().out.startswith("PASS ")


@pytest.mark.parametrize(
    "check,wrong,case,diagnosis",
    [
        (check_attention, lambda q, k, v, mask=None: attention(q, k, v, mask, scale=False), "one head", "sqrt(D)"),
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask, mask_after=True),
            "causal mask",
            "mask is applied after the softmax",
        ),
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask, softmax_axis=-2),
            "one head",
            "softmax runs over the wrong axis",
        ),
        (check_causal_mask, lambda T: causal_mask(T, k=-1), "T = 4", "a token cannot see itself"),
        (check_causal_mask, lambda T: causal_mask(T, k=1), "T = 4", "also sees the next one"),
        (
            check_multi_head_attention,
            lambda *a, **kw: multi_head_attention(*a, **kw, causal_k=-1),
            "causal",
            "causal mask is off by one: a token cannot see itself",
        ),
        (
            check_multi_head_attention,
            lambda x, p, H, mask=None, causal=False: multi_head_attention(x, p, H, mask, causal) - p["c_proj"]["bias"],
            "self-attention, 3 heads",
            "largest difference",
        ),
        (check_layer_norm, lambda x, p, epsilon=1e-5: layer_norm(x, p, epsilon, axis=0), "[B, T, C]", "wrong axis"),
        (
            check_layer_norm,
            lambda x, p, epsilon=1e-5: layer_norm(x, p, epsilon, axis=-2),
            "[B, T, C]",
            "wrong axis",
        ),
        (
            check_positional_encoding,
            lambda pos, C: positional_encoding(pos, C, swap=True),
            "positions 0..9, C = 16",
            "sin and cos are swapped",
        ),
        (
            check_feed_forward,
            lambda x, p, activation="gelu_tanh": feed_forward(x, p, act=lambda h: np.maximum(h, 0)),
            "[B, T, C], F = 4C",
            "ReLU",
        ),
        (
            check_transformer_block,
            lambda x, p, H: transformer_block(x, p, H, post_ln=True),
            "[B, T, C], 3 heads",
            "post-LN",
        ),
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask)[..., :-1],
            "one head",
            "output shape [5, 3], expected [5, 4]",
        ),
        (check_attention, lambda q, k, v, mask=None: undefined_name, "one head", "raised NameError"),  # noqa: F821
        (
            check_layer_norm,
            lambda x, p, epsilon=1e-5: layer_norm(x.astype(np.float16), p, epsilon),
            "[B, T, C]",
            "close, but beyond the tolerance",
        ),
    ],
)
def test_wrong_implementations_fail_with_the_right_diagnosis(check, wrong, case, diagnosis, capsys):
    result = check(wrong)
    assert not result.passed
    assert result.cases[-1] == case
    assert diagnosis in result.diagnosis, result.diagnosis
    assert capsys.readouterr().out.startswith(f"FAIL {result.name}, case '{case}': ")


def test_float32_jax_numpy_answers_are_judged_at_float32_precision():
    def jnp_positional_encoding(positions, C):  # the usual exp/log form, in float32
        inv_freq = jnp.exp(-jnp.log(10000.0) * jnp.arange(0, C, 2) / C)
        angles = jnp.asarray(positions, jnp.float32)[:, None] * inv_freq
        return jnp.stack([jnp.sin(angles), jnp.cos(angles)], axis=-1).reshape(len(positions), C)

    def jnp_layer_norm(x, params, epsilon=1e-5, axis=-1):
        x = jnp.asarray(x, jnp.float32)
        mean, var = x.mean(axis, keepdims=True), x.var(axis, keepdims=True)
        return (x - mean) / jnp.sqrt(var + epsilon) * params["scale"] + params["bias"]

    assert check_positional_encoding(jnp_positional_encoding)
    assert check_layer_norm(jnp_layer_norm)
    wrong = check_layer_norm(lambda x, params, epsilon=1e-5: jnp_layer_norm(x, params, epsilon, axis=0))
    assert "wrong axis" in wrong.diagnosis


def test_a_learner_changing_its_inputs_in_place_spoils_no_later_case():
    def in_place(q, k, v, mask=None):
        out = attention(q, k, v, mask)
        q *= 0.0  # harmless to the checker: it passes copies
        return out

    assert check_attention(in_place)


@pytest.mark.parametrize(
    "check",
    [
        check_attention,
        check_causal_mask,
        check_feed_forward,
        check_layer_norm,
        check_multi_head_attention,
        check_positional_encoding,
        check_rotary_embedding,
        check_transformer_block,
    ],
)
def test_a_stub_as_shipped_is_not_written_yet_and_raises_nothing(check, capsys):
    def my_stub(*args, **kwargs):
        raise NotImplementedError

    result = check(my_stub)
    assert not result and result.not_written
    assert capsys.readouterr().out.strip() == "not written yet: fill in `my_stub` above, then run this cell again"
    # a real error stays a diagnosis of its own, not "not written yet"
    assert not check(lambda *args, **kwargs: 1 / 0).not_written
