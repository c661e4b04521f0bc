"""Slips a learner makes first, written the way a learner writes them: each gets its own named
verdict (not "the values differ"), so the learner reads what went wrong."""

import numpy as np
import pytest

from jaxgpt.study.exercises import check_attention, check_multi_head_attention


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def attention(q, k, v, mask=None, fill=-1e9, transpose=lambda k: np.swapaxes(k, -1, -2), multiply=False):
    scores = q @ transpose(k) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores * mask if multiply else np.where(mask, scores, fill)
    return softmax(scores) @ v


def multi_head(x, params, n_head, mask=None, causal=False, bare_split=False, bare_merge=False):
    B, T, C = x.shape
    D = C // n_head
    q, k, v = np.split(x @ params["c_attn"]["kernel"] + params["c_attn"]["bias"], 3, axis=-1)

    def split(t):
        return t.reshape(B, n_head, T, D) if bare_split else t.reshape(B, T, n_head, D).transpose(0, 2, 1, 3)

    if causal:
        causal_TxT = np.tril(np.ones((T, T), bool))
        mask = causal_TxT if mask is None else mask & causal_TxT
    out = attention(split(q), split(k), split(v), mask)
    out = out.reshape(B, T, C) if bare_merge else out.transpose(0, 2, 1, 3).reshape(B, T, C)
    return out @ params["c_proj"]["kernel"] + params["c_proj"]["bias"]


def test_the_learners_right_versions_pass():
    assert check_attention(attention, verbose=False)
    assert check_multi_head_attention(multi_head, verbose=False)


@pytest.mark.parametrize(
    "check,slip,case,verdict,hint",
    [
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask, multiply=True),
            "causal mask",
            "the mask multiplies the scores",
            "np.where(mask, scores, -1e9)",
        ),
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask, fill=-np.inf),
            "a query with every key masked",
            "the output holds NaN or inf.",
            "a row of -inf scores gives 0/0 in softmax",
        ),
        (
            check_attention,
            lambda q, k, v, mask=None: attention(q, k, v, mask, transpose=lambda k: k.T),
            "batched heads with T != S",
            "your code raised ValueError: matmul",
            "On a batched array .T reverses every axis",
        ),
        (
            check_multi_head_attention,
            lambda *a, **kw: multi_head(*a, **kw, bare_split=True, bare_merge=True),
            "self-attention, 3 heads",
            "the heads are split and merged with bare reshapes",
            "reshape to [B, T, H, D], then transpose",
        ),
        (
            check_multi_head_attention,
            lambda *a, **kw: multi_head(*a, **kw, bare_merge=True),
            "self-attention, 3 heads",
            "the heads are merged with a bare reshape",
            "transpose [B, H, T, D] back to [B, T, H, D] first",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the NaN of -inf masking, on purpose
def test_each_slip_gets_its_named_verdict(check, slip, case, verdict, hint):
    result = check(slip, verbose=False)
    assert not result and result.cases[-1] == case
    assert verdict in result.diagnosis and hint in result.hint, (result.diagnosis, result.hint)
