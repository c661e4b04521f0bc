"""Slips a learner makes first, written the way a learner writes them: each gets its own named
verdict (not "the values differ"), so the learner reads what went wrong."""

import flax.linen as nn
import numpy as np
import pytest

from jaxgpt.model.attention import MultiHeadAttention
from jaxgpt.model.feedforward import FeedForward
from jaxgpt.model.layernorm import LayerNorm
from jaxgpt.study.exercises import (
    check_attention,
    check_block_module,
    check_causal_mask,
    check_feed_forward,
    check_layer_norm,
    check_multi_head_attention,
    check_positional_encoding,
    check_rotary_embedding,
    check_transformer_block,
)


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


def gelu(h, cubic=0.044715):
    return 0.5 * h * (1 + np.tanh(np.sqrt(2 / np.pi) * (h + cubic * h**3)))


def feed_forward(x, params, activation="gelu_tanh", biases=True, cubic=0.044715):
    fc, proj = params["c_fc"], params["c_proj"]
    h = gelu(x @ fc["kernel"] + (fc["bias"] if biases else 0), cubic)
    return h @ proj["kernel"] + (proj["bias"] if biases else 0)


def layer_norm(x, p, epsilon=1e-5, ddof=0, eps_outside=False):
    mean, var = x.mean(-1, keepdims=True), x.var(-1, keepdims=True, ddof=ddof)
    spread = np.sqrt(var) + epsilon if eps_outside else np.sqrt(var + epsilon)
    return (x - mean) / spread * p["scale"] + p["bias"]


def block(x, params, n_head, slip=None):
    attn = lambda y: multi_head(y, params["attn"], n_head, causal=slip != "not causal")  # noqa: E731
    mlp = lambda y: feed_forward(y, params["mlp"])  # noqa: E731
    if slip == "norm the stream":
        x = layer_norm(x, params["ln_1"])
        x = x + attn(x)
        x = layer_norm(x, params["ln_2"])
        return x + mlp(x)
    if slip == "no residuals":
        x = attn(layer_norm(x, params["ln_1"]))
        return mlp(layer_norm(x, params["ln_2"]))
    x = x + attn(layer_norm(x, params["ln_1"]))
    if slip == "no mlp residual":
        return mlp(layer_norm(x, params["ln_2"]))
    return x + mlp(layer_norm(x, params["ln_2"]))


def positions(positions_T, n_embd, channel_index=False, swapped=False, halves=False):
    pe = np.zeros((len(positions_T), n_embd))
    for pos_i, pos in enumerate(positions_T):
        for c in range(n_embd):
            i = c // 2  # the channel pair
            exponent = c / n_embd if channel_index else 2 * i / n_embd
            angle = pos / 10000**exponent
            pe[pos_i, c] = np.sin(angle) if (c % 2 == 0) != swapped else np.cos(angle)
    if halves:  # sines in the first half, cosines in the second
        return np.concatenate([pe[:, 0::2], pe[:, 1::2]], axis=-1)
    return pe


def rotary(x, positions_T, base=10000.0, adjacent=False, minus=False, frequency_exponent=2):
    """RoPE written from the paper's pair rotation, one channel pair at a time."""
    D = x.shape[-1]
    out = np.empty_like(x)
    for i in range(D // 2):
        a, b = (2 * i, 2 * i + 1) if adjacent else (i, i + D // 2)
        angle = np.asarray(positions_T)[:, None] / base ** (frequency_exponent * i / D)  # [T, 1]
        sin = -np.sin(angle) if minus else np.sin(angle)
        out[..., a : a + 1] = x[..., a : a + 1] * np.cos(angle) - x[..., b : b + 1] * sin
        out[..., b : b + 1] = x[..., a : a + 1] * sin + x[..., b : b + 1] * np.cos(angle)
    return out


class FlaxBlock(nn.Module):  # GPT-2's block in Flax, the learner's way; `causal=False`: the mask never built
    n_head: int
    causal: bool = True

    @nn.compact
    def __call__(self, x_BxTxC):
        C = x_BxTxC.shape[-1]
        x_BxTxC = x_BxTxC + MultiHeadAttention(self.n_head, causal=self.causal, name="attn")(
            LayerNorm(name="ln_1")(x_BxTxC)
        )
        return x_BxTxC + FeedForward(4 * C, name="mlp")(LayerNorm(name="ln_2")(x_BxTxC))


class FlaxBlockWithoutMask(FlaxBlock):
    causal: bool = False


def test_the_learners_right_versions_pass():
    assert check_attention(attention, verbose=False)
    assert check_multi_head_attention(multi_head, verbose=False)
    assert check_feed_forward(feed_forward, verbose=False)
    assert check_transformer_block(block, verbose=False)
    assert check_positional_encoding(positions, verbose=False)
    assert check_rotary_embedding(rotary, verbose=False)
    assert check_block_module(FlaxBlock, verbose=False)


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
        (
            check_feed_forward,
            lambda x, p, activation="gelu_tanh": feed_forward(x, p, biases=False),
            "[B, T, C], F = 4C",
            "the linear layers have no biases",
            "params['c_fc']['bias']",
        ),
        (
            check_feed_forward,
            lambda x, p, activation="gelu_tanh": feed_forward(x, p, cubic=0.44715),
            "[B, T, C], F = 4C",
            "a constant of the GELU is mistyped",
            "0.044715 (not 0.44715",
        ),
        (
            check_transformer_block,
            lambda x, p, n_head: block(x, p, n_head, "no mlp residual"),
            "[B, T, C], 3 heads",
            "the feed-forward sub-layer has no residual connection",
            "x = x + mlp(ln_2(x))",
        ),
        (
            check_transformer_block,
            lambda x, p, n_head: block(x, p, n_head, "no residuals"),
            "[B, T, C], 3 heads",
            "no residual connections at all",
            "x = x + attn(ln_1(x))",
        ),
        (
            check_transformer_block,
            lambda x, p, n_head: block(x, p, n_head, "not causal"),
            "[B, T, C], 3 heads",
            "the block's attention is not causal",
            "causal mask",
        ),
        (
            check_transformer_block,
            lambda x, p, n_head: block(x, p, n_head, "norm the stream"),
            "[B, T, C], 3 heads",
            "LayerNorm is applied to the residual stream itself",
            "only attn's input is normalised",
        ),
        (
            check_positional_encoding,
            lambda pos, C: positions(pos, C, channel_index=True),
            "positions 0..9, C = 16",
            "the channel's index, not its pair's",
            "i counts channel pairs",
        ),
        (
            check_layer_norm,
            lambda x, p, epsilon=1e-5: layer_norm(x, p, epsilon, ddof=1),
            "[B, T, C]",
            "the variance is the unbiased one",
            "ddof=0",
        ),
        (
            check_layer_norm,
            lambda x, p, epsilon=1e-5: layer_norm(x, p, epsilon, eps_outside=True),
            "[B, T, C]",
            "epsilon is added to the standard deviation",
            "np.sqrt(var + epsilon)",
        ),
        (
            check_positional_encoding,
            lambda pos, C: positions(pos, C, swapped=True),
            "positions 0..9, C = 16",
            "sin and cos are swapped",
            "PE[pos, 2i] = sin",
        ),
        (
            check_positional_encoding,
            lambda pos, C: positions(pos, C, halves=True),
            "positions 0..9, C = 16",
            "the sines fill the first half",
            "sin on channels 0, 2, 4",
        ),
        (
            check_causal_mask,
            lambda T: np.triu(np.ones((T, T), bool), k=1),  # the future keys: the ones to hide
            "T = 4",
            "the mask is inverted: True on the future keys",
            "the complement of yours",
        ),
        (
            check_causal_mask,
            lambda T: np.tril(np.ones((T, T), bool), k=-1),  # strictly below: forgot the token itself
            "T = 4",
            "off by one: a token cannot see itself",
            "diagonal included",
        ),
        (
            check_feed_forward,
            lambda x, p, activation="gelu_tanh": feed_forward(x, p, cubic=0.0),  # GELU without its cubic term
            "[B, T, C], F = 4C",
            "the values differ",
            "help(check_feed_forward)",
        ),
        (
            check_rotary_embedding,
            lambda x, pos: rotary(x, pos, adjacent=True),  # the RoFormer paper's pairs (2i, 2i+1)
            "positions 0..5, D = 8",
            "adjacent channels (2i, 2i+1) are turned together",
            "x2 = x[..., D/2:]",
        ),
        (
            check_rotary_embedding,
            lambda x, pos: rotary(x, pos, minus=True),
            "positions 0..5, D = 8",
            "each pair turns the wrong way",
            "x1 cos a - x2 sin a",
        ),
        (
            check_rotary_embedding,
            lambda x, pos: rotary(x, pos, frequency_exponent=1),
            "positions 0..5, D = 8",
            "the frequencies use base^(-i/D)",
            "np.arange(0, D, 2) / D",
        ),
        (
            check_block_module,
            FlaxBlockWithoutMask,
            "[B, T, C], 3 heads",
            "the block's attention is not causal",
            "causal mask",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:invalid value encountered")  # the NaN of -inf masking, on purpose
def test_each_slip_gets_its_named_verdict(check, slip, case, verdict, hint):
    result = check(slip, verbose=False)
    assert not result and result.cases[-1] == case
    assert verdict in result.diagnosis and hint in result.hint, (result.diagnosis, result.hint)
