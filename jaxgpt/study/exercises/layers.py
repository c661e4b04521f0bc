"""Exercises of day 3: LayerNorm, positional encoding, feed-forward (the block is in block.py)."""

from __future__ import annotations

import numpy as np

from jaxgpt.model import reference as ref
from jaxgpt.study.exercises.checking import CheckResult, Mistake, dense_params, random_generator, run_check

# ---- LayerNorm ---------------------------------------------------------------------------------


def _layer_norm_variant(axis=-1, ddof=0, eps_outside=False, affine=True):
    def layer_norm(x, params, epsilon=1e-5):
        mean = np.mean(x, axis=axis, keepdims=True)
        var = np.var(x, axis=axis, keepdims=True, ddof=ddof)
        xhat = (x - mean) / (np.sqrt(var) + epsilon if eps_outside else np.sqrt(var + epsilon))
        return xhat * params["scale"] + params["bias"] if affine else xhat

    return layer_norm


LAYER_NORM_MISTAKES = [
    Mistake(
        "the statistics are taken over the wrong axis (the positions or the batch, not the channels).",
        "np.mean(x, axis=-1, keepdims=True): each position is normalised over its own C channels",
        _layer_norm_variant(axis=0),
    ),
    Mistake(
        "the statistics are taken over the wrong axis (the positions or the batch, not the channels).",
        "np.mean(x, axis=-1, keepdims=True): each position is normalised over its own C channels",
        _layer_norm_variant(axis=-2),
    ),
    Mistake(
        "the variance is the unbiased one (divided by C - 1); LayerNorm divides by C.",
        "np.var(x, axis=-1) (ddof=0), or np.mean((x - mean) ** 2, axis=-1)",
        _layer_norm_variant(ddof=1),
    ),
    Mistake(
        "epsilon is added to the standard deviation; LayerNorm adds it to the variance.",
        "(x - mean) / np.sqrt(var + epsilon)",
        _layer_norm_variant(eps_outside=True),
    ),
    Mistake(
        "the learned scale and bias are not applied.",
        "return xhat * params['scale'] + params['bias']",
        _layer_norm_variant(affine=False),
    ),
]


def check_layer_norm(layer_norm, verbose=True, name="check_layer_norm") -> CheckResult:
    """`layer_norm(x [..., C], params, epsilon=1e-5) -> [..., C]`: normalise each position over its
    C channels to mean 0, variance 1, then `* params["scale"] + params["bias"]` (both [C])."""
    rng = random_generator(3)
    params = {"scale": 1 + 0.1 * rng.standard_normal(8), "bias": 0.1 * rng.standard_normal(8)}
    cases = [
        ("[B, T, C]", (3 + 2 * rng.standard_normal((2, 5, 8)), params), {}),
        ("[T, C], tiny variance", (1e-2 * rng.standard_normal((4, 8)), params), {}),
    ]
    return run_check(name, layer_norm, ref.layer_norm, cases, LAYER_NORM_MISTAKES, verbose=verbose)


# ---- sinusoidal positional encoding ----------------------------------------------------------


def _positional_variant(swap=False, frequency_from_i=False, halves=False, start=0, channel_index=False):
    def positional_encoding(positions_T, n_embd):
        positions = np.asarray(positions_T, np.float64)[:, None] + start
        i = np.arange(n_embd // 2)
        exponent = (i / n_embd) if frequency_from_i else (2 * i / n_embd)
        angles = positions / 10000.0**exponent  # [T, C/2]
        # the channel index c (2i for the sine, 2i + 1 for the cosine) in place of 2i
        odd_angles = positions / 10000.0 ** ((2 * i + 1) / n_embd) if channel_index else angles
        first, second = (np.cos(angles), np.sin(odd_angles)) if swap else (np.sin(angles), np.cos(odd_angles))
        if halves:
            return np.concatenate([first, second], axis=-1)
        return np.stack([first, second], axis=-1).reshape(len(positions), n_embd)

    return positional_encoding


POSITIONAL_MISTAKES = [
    Mistake(
        "sin and cos are swapped: the paper puts sin on even channels, cos on odd ones.",
        "PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(...)",
        _positional_variant(swap=True),
    ),
    Mistake(
        "the frequencies use 10000^(i/C); the paper's exponent is 2i/C for channel pair i.",
        "channels 2i and 2i+1 share the angle pos / 10000^(2i/C)",
        _positional_variant(frequency_from_i=True),
    ),
    Mistake(
        "the sines fill the first half and the cosines the second; the paper interleaves them.",
        "sin on channels 0, 2, 4, ..., cos on 1, 3, 5, ... (both layouts work in a model, but they differ)",
        _positional_variant(halves=True),
    ),
    Mistake(
        "the cosine of channel 2i+1 uses the exponent (2i+1)/C: the channel's index, not its pair's.",
        "i counts channel pairs: sin on channel 2i and cos on channel 2i+1 share one angle, pos / 10000^(2i/C)",
        _positional_variant(channel_index=True),
    ),
    Mistake(
        "positions start at 1; the first position is 0 (PE[0] = [0, 1, 0, 1, ...]).",
        "use the positions you are given, np.arange(T) for a fresh sequence",
        _positional_variant(start=1),
    ),
]


def check_positional_encoding(positional_encoding, verbose=True) -> CheckResult:
    """`positional_encoding(positions_T, n_embd) -> [T, C]`: the 2017 paper's sinusoids,
    PE[pos, 2i] = sin(pos / 10000^(2i/C)), PE[pos, 2i+1] = cos(pos / 10000^(2i/C))."""
    cases = [
        ("positions 0..9, C = 16", (np.arange(10), 16), {}),
        ("positions 5, 17, 300, C = 8", (np.array([5, 17, 300]), 8), {}),
    ]
    return run_check(
        "check_positional_encoding",
        positional_encoding,
        ref.sinusoidal_position_encoding,
        cases,
        POSITIONAL_MISTAKES,
        verbose=verbose,
    )


# ---- feed-forward ------------------------------------------------------------------------------


def _feed_forward_params(rng, C, F):
    return {"c_fc": dense_params(rng, C, F), "c_proj": dense_params(rng, F, C)}


def _gelu_tanh(h, root=np.sqrt(2 / np.pi), cubic=0.044715, half=0.5):
    return half * h * (1 + np.tanh(root * (h + cubic * h**3)))


def _feed_forward_variant(biases=True, **gelu):
    def feed_forward(x, params, activation="gelu_tanh"):
        fc, proj = params["c_fc"], params["c_proj"]
        h = x @ fc["kernel"] + (fc["bias"] if biases else 0)
        return _gelu_tanh(h, **gelu) @ proj["kernel"] + (proj["bias"] if biases else 0)

    return feed_forward


GELU_TYPOS = [dict(cubic=0.44715), dict(cubic=0.0044715), dict(root=np.sqrt(2 * np.pi)), dict(root=np.sqrt(np.pi / 2))]

FEED_FORWARD_MISTAKES = [
    Mistake(
        "the linear layers have no biases: GPT-2's c_fc and c_proj both add one.",
        "h = x @ params['c_fc']['kernel'] + params['c_fc']['bias'], and the same for c_proj",
        _feed_forward_variant(biases=False),
    ),
    *[
        Mistake(
            "a constant of the GELU is mistyped: it is 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).",
            "check each digit: sqrt(2 / pi) = 0.7979, and 0.044715 (not 0.44715 or 0.0044715)",
            _feed_forward_variant(**typo),
        )
        for typo in GELU_TYPOS
    ],
    Mistake(
        "the activation is GELU with the exact erf; GPT-2 uses the tanh approximation.",
        "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        lambda x, params, activation="gelu_tanh": ref.feed_forward(x, params, "gelu"),
    ),
    Mistake(
        "the activation is ReLU (the 2017 paper's); GPT-2 uses GELU (tanh approximation).",
        "0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))",
        lambda x, params, activation="gelu_tanh": ref.feed_forward(x, params, "relu"),
    ),
    Mistake(
        "there is no activation between the two linear layers: the whole block is one linear map.",
        "h = gelu(x @ W_fc + b_fc), then h @ W_proj + b_proj",
        lambda x, params, activation="gelu_tanh": ref.linear(ref.linear(x, params["c_fc"]), params["c_proj"]),
    ),
]


def check_feed_forward(feed_forward, verbose=True, name="check_feed_forward") -> CheckResult:
    """`feed_forward(x [B, T, C], params, activation="gelu_tanh") -> [B, T, C]`: params["c_fc"]
    (kernel [C, F], bias [F]), the activation, params["c_proj"] (kernel [F, C], bias [C])."""
    rng = random_generator(4)
    params = _feed_forward_params(rng, 8, 32)
    cases = [("[B, T, C], F = 4C", (rng.standard_normal((2, 5, 8)), params), {})]
    return run_check(name, feed_forward, ref.feed_forward, cases, FEED_FORWARD_MISTAKES, verbose=verbose)
