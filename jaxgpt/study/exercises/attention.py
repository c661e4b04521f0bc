"""Exercises of day 1: scaled dot-product attention, the causal mask, multi-head attention."""

from __future__ import annotations

import math

import numpy as np

from jaxgpt.model import reference as ref
from jaxgpt.study.exercises.checking import CheckResult, Mistake, dense_params, random_generator, run_check

# ---- attention ------------------------------------------------------------------------------


def _softmax_masked(scores, mask, axis=-1):
    if mask is not None:
        scores = np.where(mask, scores, np.finfo(scores.dtype).min)
    return ref.softmax(scores, axis=axis)


def _attention_variant(scale=None, softmax_axis=-1, mask_after_softmax=False, invert_mask=False, multiply_mask=False):
    def attention(q, k, v, mask=None):
        D = q.shape[-1]
        scores = np.einsum("...td,...sd->...ts", q, k) / (math.sqrt(D) if scale is None else scale(D))
        if mask is not None and invert_mask:
            mask = np.logical_not(mask)
        if multiply_mask and mask is not None:
            return ref.softmax(scores * mask, axis=softmax_axis) @ v
        if mask_after_softmax and mask is not None:
            weights = np.where(mask, ref.softmax(scores, axis=softmax_axis), 0.0)
        else:
            weights = _softmax_masked(scores, mask, axis=softmax_axis)
        return weights @ v

    return attention


ATTENTION_MISTAKES = [
    Mistake(
        "the scores are not divided by sqrt(D).",
        "scores = q @ k^T / sqrt(D): without it their variance grows with D and softmax saturates",
        _attention_variant(scale=lambda D: 1.0),
    ),
    Mistake(
        "the scores are divided by D, not sqrt(D).",
        "q.k of two random unit-variance D-vectors has variance D, so its standard deviation is sqrt(D)",
        _attention_variant(scale=lambda D: D),
    ),
    Mistake(
        "the mask is applied after the softmax: masked weights are zeroed but the rest no longer sum to 1.",
        "set masked scores to a very negative number before the softmax, so it renormalises over what is left",
        _attention_variant(mask_after_softmax=True),
    ),
    Mistake(
        "the softmax runs over the wrong axis (the queries, axis -2): each query's weights must sum to 1.",
        "softmax(scores, axis=-1): over the keys S of scores [..., T, S]",
        _attention_variant(softmax_axis=-2),
    ),
    Mistake(
        "the mask is inverted: True means 'may attend' (jaxgpt's convention), you hid those keys instead.",
        "use np.where(mask, scores, very_negative)",
        _attention_variant(invert_mask=True),
    ),
    Mistake(
        "the mask multiplies the scores: a masked score becomes 0, and softmax still gives it weight (e^0 = 1).",
        "mask before the softmax with a very negative score, np.where(mask, scores, -1e9): e^-1e9 is 0",
        _attention_variant(multiply_mask=True),
    ),
]


def _attention_error_hint(error) -> str | None:
    """The usual reason a learner's attention raises: k.T on a batched array."""
    if any(word in str(error) for word in ("matmul", "dot_general", "broadcast", "shapes")):
        return (
            "a product's shapes do not fit: print q.shape and the shape of your transposed k. On a batched "
            "array .T reverses every axis ([B, H, S, D] -> [D, S, H, B]); np.swapaxes(k, -1, -2) swaps the last two"
        )
    return None


def _attention_cases():
    rng = random_generator(1)
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    padding = np.ones((2, 1, 1, 6), bool)
    padding[0, ..., 4:] = False  # the first sequence has 2 padded keys
    nothing_for_query_0 = np.tril(np.ones((6, 6), bool))
    nothing_for_query_0[0] = False  # as a padded query: the row's keys are all masked
    return [
        ("one head", (x(5, 4), x(5, 4), x(5, 4)), {}),
        ("batched heads with T != S", (x(2, 3, 4, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {}),
        ("causal mask", (x(2, 3, 6, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {"mask": ref.causal_mask(6)}),
        ("padding mask", (x(2, 3, 6, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {"mask": padding}),
        ("a query with every key masked", (x(2, 6, 8), x(2, 6, 8), x(2, 6, 8)), {"mask": nothing_for_query_0}),
    ]


def check_attention(attention, verbose=True) -> CheckResult:
    """`attention(q [..., T, D], k [..., S, D], v [..., S, D], mask=None) -> out [..., T, D]` (or
    (out, weights)): softmax(q k^T / sqrt(D)) v, where `mask` (bool, broadcastable to [..., T, S])
    is True where a query may attend to a key."""
    return run_check(
        "check_attention",
        attention,
        ref.attention,
        _attention_cases(),
        ATTENTION_MISTAKES,
        verbose=verbose,
        error_hint=_attention_error_hint,
    )


# ---- the causal mask -------------------------------------------------------------------------

CAUSAL_MISTAKES = [
    Mistake(
        "off by one: a token cannot see itself (the diagonal is False).",
        "query t sees keys s <= t: np.tril(np.ones((T, T), bool)), diagonal included",
        lambda T: np.tril(np.ones((T, T), bool), k=-1),
    ),
    Mistake(
        "off by one: each token also sees the next one.",
        "query t sees keys s <= t, never s = t + 1",
        lambda T: np.tril(np.ones((T, T), bool), k=1),
    ),
    Mistake(
        "the mask is inverted: True on the future keys, the ones to hide; True must mean 'may attend'.",
        "return the keys a query may see, s <= t: np.tril(np.ones((T, T), bool)), the complement of yours",
        lambda T: np.triu(np.ones((T, T), bool), k=1),
    ),
    Mistake(
        "the mask looks at the future: it is True above the diagonal instead of below.",
        "rows are queries, columns keys: row t is True in columns 0 .. t (np.tril)",
        lambda T: np.triu(np.ones((T, T), bool)),
    ),
]


def check_causal_mask(causal_mask, verbose=True) -> CheckResult:
    """`causal_mask(T) -> [T, T]` bool, True where query t may attend to key s (s <= t)."""
    cases = [(f"T = {T}", (T,), {}) for T in (4, 7, 1)]  # T = 1 last: every off-by-one looks alike there
    return run_check("check_causal_mask", causal_mask, lambda T: ref.causal_mask(T), cases, CAUSAL_MISTAKES, 0, verbose)


# ---- multi-head attention --------------------------------------------------------------------


def _attention_params(rng, C):
    return {"c_attn": dense_params(rng, C, 3 * C), "c_proj": dense_params(rng, C, C)}


def _mha_variant(split=None, merge=None, causal_offset=0, project=True, attention=None):
    attention = attention or (lambda q, k, v, mask: ref.attention(q, k, v, mask)[0])

    def multi_head_attention(x, params, n_head, mask=None, causal=False):
        B, T, C = x.shape
        q, k, v = np.split(ref.linear(x, params["c_attn"]), 3, axis=-1)
        heads = split or ref.split_heads
        q, k, v = heads(q, n_head), heads(k, n_head), heads(v, n_head)
        if causal:
            causal_TxT = np.tril(np.ones((T, T), bool), k=causal_offset)
            mask = causal_TxT if mask is None else np.logical_and(mask, causal_TxT)
        out = (merge or ref.merge_heads)(attention(q, k, v, mask))
        return ref.linear(out, params["c_proj"]) if project else out

    return multi_head_attention


def _bare_split(x_BxTxC, H):
    B, T, C = x_BxTxC.shape
    return x_BxTxC.reshape(B, H, T, C // H)


def _bare_merge(x_BxHxTxD):
    B, H, T, D = x_BxHxTxD.shape
    return x_BxHxTxD.reshape(B, T, H * D)


MHA_MISTAKES = [
    Mistake(
        "the heads are split with a bare reshape to [B, H, T, D]: each 'head' mixes positions.",
        "reshape [B, T, C] to [B, T, H, D] first, then transpose to [B, H, T, D]",
        _mha_variant(split=_bare_split),
    ),
    Mistake(
        "the heads are merged with a bare reshape of [B, H, T, D] to [B, T, C]: positions and heads are mixed.",
        "transpose [B, H, T, D] back to [B, T, H, D] first, then reshape to [B, T, C]",
        _mha_variant(merge=_bare_merge),
    ),
    Mistake(
        "the heads are split and merged with bare reshapes: each 'head' sees a jumble of positions.",
        "split: reshape to [B, T, H, D], then transpose to [B, H, T, D]; merge: the reverse",
        _mha_variant(split=_bare_split, merge=_bare_merge),
    ),
    Mistake(
        "the causal mask is off by one: a token cannot see itself.",
        "query t sees keys s <= t, diagonal included",
        _mha_variant(causal_offset=-1),
    ),
    Mistake(
        "the causal mask is off by one: each token also sees the next one.",
        "query t sees keys s <= t",
        _mha_variant(causal_offset=1),
    ),
    Mistake(
        "the output projection c_proj is missing.",
        "after merging the heads, mix them with params['c_proj']",
        _mha_variant(project=False),
    ),
    *[
        Mistake("inside each head, " + m.diagnosis, m.hint, _mha_variant(attention=m.function))
        for m in ATTENTION_MISTAKES
    ],
]


def check_multi_head_attention(multi_head_attention, verbose=True, name="check_multi_head_attention") -> CheckResult:
    """`multi_head_attention(x [B, T, C], params, n_head, mask=None, causal=False) -> [B, T, C]`
    (or (out, weights)), GPT-2's layout: params["c_attn"] (kernel [C, 3C], bias [3C]) gives q, k, v;
    split into n_head heads; attention; merge; params["c_proj"] (kernel [C, C], bias [C])."""
    rng = random_generator(2)
    x, params = rng.standard_normal((2, 6, 12)), _attention_params(rng, 12)
    padding = np.ones((2, 1, 1, 6), bool)
    padding[1, ..., 3:] = False
    cases = [
        ("self-attention, 3 heads", (x, params, 3), {}),
        ("causal", (x, params, 3), {"causal": True}),
        ("padding mask, 4 heads", (x, params, 4), {"mask": padding}),
    ]
    correct = lambda x, params, n_head, mask=None, causal=False: ref.multi_head_attention(  # noqa: E731
        x, params, n_head, mask=mask, causal=causal
    )
    return run_check(name, multi_head_attention, correct, cases, MHA_MISTAKES, verbose=verbose)
