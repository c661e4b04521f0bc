"""Self-checks for learners: write your own attention, LayerNorm, ... and `check_*` it.

Each checker runs your function and `jaxgpt.reference` on the same random inputs (several shapes,
masks), prints a one-line verdict and returns a `CheckResult`. When the numbers differ it names the
first case that failed, where the largest difference is, and, when your output matches one of the
classic mistakes (no 1/sqrt(D), mask after softmax, softmax over the wrong axis, LayerNorm over the
wrong axis, an off-by-one causal mask, ...), that mistake and a hint.

    from jaxgpt.exercises import check_attention

    def my_attention(q, k, v, mask=None):       # q [..., T, D], k and v [..., S, D], mask [..., T, S]
        ...
        return out                                # [..., T, D] (or (out, weights))

    check_attention(my_attention)

Your functions may use NumPy or jax.numpy; they get float64 NumPy arrays.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from jaxgpt import reference as ref


@dataclasses.dataclass
class CheckResult:
    name: str
    passed: bool
    cases: list[str]  # the cases run (all of them when passed; up to the failing one otherwise)
    diagnosis: str = ""  # what went wrong, when it did
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        if self.passed:
            return f"PASS {self.name}: matches the reference on {len(self.cases)} cases ({', '.join(self.cases)})"
        return f"FAIL {self.name}, case '{self.cases[-1]}': {self.diagnosis}" + (
            f" Hint: {self.hint}" if self.hint else ""
        )


@dataclasses.dataclass
class Mistake:
    diagnosis: str
    hint: str
    function: object  # computes what the mistaken implementation would, from the same arguments


def _first(output):
    return output[0] if isinstance(output, tuple) else output


def _check(name, yours, correct, cases, mistakes, tol=1e-6, verbose=True) -> CheckResult:
    """Run `yours` and `correct` on each (case name, args, kwargs); stop at the first difference."""
    done = []
    for case, args, kwargs in cases:
        done.append(case)
        expected = np.asarray(_first(correct(*args, **kwargs)))
        try:
            got = np.asarray(_first(yours(*args, **kwargs)), dtype=np.float64)
        except Exception as error:  # the learner's code: report any failure as a verdict
            result = CheckResult(
                name, False, done, f"your function raised {type(error).__name__}: {error}.", _signature_hint(name)
            )
            break
        result = _compare(name, done, got, expected, args, kwargs, mistakes, tol)
        if result is not None:
            break
    else:
        result = CheckResult(name, True, done)
    if verbose:
        print(result)
    return result


def _compare(name, done, got, expected, args, kwargs, mistakes, tol):
    if got.shape != expected.shape:
        return CheckResult(
            name,
            False,
            done,
            f"output shape {list(got.shape)}, expected {list(expected.shape)}.",
            "print the shape after every step; compare with the shape in each variable name of jaxgpt.reference",
        )
    if not np.all(np.isfinite(got)):
        return CheckResult(
            name,
            False,
            done,
            "the output holds NaN or inf.",
            "a fully masked row with -inf scores gives 0/0 in softmax: use a very negative finite number",
        )
    if np.allclose(got, expected, rtol=tol, atol=tol):
        return None
    for mistake in mistakes:
        wrong = np.asarray(_first(mistake.function(*args, **kwargs)))
        if wrong.shape == got.shape and np.allclose(got, wrong, rtol=tol, atol=tol):
            return CheckResult(name, False, done, mistake.diagnosis, mistake.hint)
    difference = np.abs(got - expected)
    where = tuple(int(i) for i in np.unravel_index(np.argmax(difference), difference.shape))
    scale = float(np.max(np.abs(expected))) or 1.0
    what = (
        f"largest difference {difference.max():.3g} at index {list(where)} "
        f"(yours {got[where]:.6g}, expected {expected[where]:.6g})."
    )
    if difference.max() < 1e-3 * scale:
        return CheckResult(
            name,
            False,
            done,
            "close, but beyond the tolerance of " + f"{tol:g}: {what}",
            "compute in float64 (the inputs are float64; float32 or bfloat16 loses digits)",
        )
    return CheckResult(name, False, done, f"the values differ: {what}", "compare step by step with jaxgpt.reference")


def _signature_hint(name):
    return f"the expected signature is in the docstring of jaxgpt.exercises.check_{name}"


def _rng(seed=0):
    return np.random.default_rng(seed)


# ---- attention ------------------------------------------------------------------------------


def _softmax_masked(scores, mask, axis=-1):
    if mask is not None:
        scores = np.where(mask, scores, np.finfo(scores.dtype).min)
    return ref.softmax(scores, axis=axis)


def _attention_variant(scale=None, softmax_axis=-1, mask_after_softmax=False, invert_mask=False):
    def attention(q, k, v, mask=None):
        D = q.shape[-1]
        scores = np.einsum("...td,...sd->...ts", q, k) / (math.sqrt(D) if scale is None else scale(D))
        if mask is not None and invert_mask:
            mask = np.logical_not(mask)
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
]


def _attention_cases():
    rng = _rng(1)
    x = lambda *shape: rng.standard_normal(shape)  # noqa: E731
    padding = np.ones((2, 1, 1, 6), bool)
    padding[0, ..., 4:] = False  # the first sequence has 2 padded keys
    return [
        ("one head", (x(5, 4), x(5, 4), x(5, 4)), {}),
        ("batched heads, T != S", (x(2, 3, 4, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {}),
        ("causal mask", (x(2, 3, 6, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {"mask": ref.causal_mask(6)}),
        ("padding mask", (x(2, 3, 6, 8), x(2, 3, 6, 8), x(2, 3, 6, 8)), {"mask": padding}),
    ]


def check_attention(attention, verbose=True) -> CheckResult:
    """`attention(q [..., T, D], k [..., S, D], v [..., S, D], mask=None) -> out [..., T, D]` (or
    (out, weights)): softmax(q k^T / sqrt(D)) v, where `mask` (bool, broadcastable to [..., T, S])
    is True where a query may attend to a key."""
    return _check("attention", attention, ref.attention, _attention_cases(), ATTENTION_MISTAKES, verbose=verbose)


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
        "the mask looks at the future: it is True above the diagonal instead of below.",
        "rows are queries, columns keys: row t is True in columns 0 .. t (np.tril)",
        lambda T: np.triu(np.ones((T, T), bool)),
    ),
]


def check_causal_mask(causal_mask, verbose=True) -> CheckResult:
    """`causal_mask(T) -> [T, T]` bool, True where query t may attend to key s (s <= t)."""
    cases = [(f"T = {T}", (T,), {}) for T in (1, 4, 7)]
    return _check("causal_mask", causal_mask, lambda T: ref.causal_mask(T), cases, CAUSAL_MISTAKES, 0, verbose)


# ---- multi-head attention --------------------------------------------------------------------


def _attention_params(rng, C):
    dense = lambda i, o: {"kernel": rng.standard_normal((i, o)) / math.sqrt(i), "bias": 0.1 * rng.standard_normal(o)}  # noqa: E731
    return {"c_attn": dense(C, 3 * C), "c_proj": dense(C, C)}


def _mha_variant(split=None, causal_offset=0, project=True, attention=None):
    attention = attention or (lambda q, k, v, mask: ref.attention(q, k, v, mask)[0])

    def multi_head_attention(x, params, n_head, mask=None, causal=False):
        B, T, C = x.shape
        q, k, v = np.split(ref.linear(x, params["c_attn"]), 3, axis=-1)
        heads = split or ref.split_heads
        q, k, v = heads(q, n_head), heads(k, n_head), heads(v, n_head)
        if causal:
            causal_TxT = np.tril(np.ones((T, T), bool), k=causal_offset)
            mask = causal_TxT if mask is None else np.logical_and(mask, causal_TxT)
        out = ref.merge_heads(attention(q, k, v, mask))
        return ref.linear(out, params["c_proj"]) if project else out

    return multi_head_attention


MHA_MISTAKES = [
    Mistake(
        "the heads are split with a bare reshape to [B, H, T, D]: each 'head' mixes positions.",
        "reshape [B, T, C] to [B, T, H, D] first, then transpose to [B, H, T, D]",
        _mha_variant(split=lambda x, H: x.reshape(x.shape[0], H, x.shape[1], x.shape[2] // H)),
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


def check_multi_head_attention(multi_head_attention, verbose=True) -> CheckResult:
    """`multi_head_attention(x [B, T, C], params, n_head, mask=None, causal=False) -> [B, T, C]`
    (or (out, weights)), GPT-2's layout: params["c_attn"] (kernel [C, 3C], bias [3C]) gives q, k, v;
    split into n_head heads; attention; merge; params["c_proj"] (kernel [C, C], bias [C])."""
    rng = _rng(2)
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
    return _check("multi_head_attention", multi_head_attention, correct, cases, MHA_MISTAKES, verbose=verbose)


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


def check_layer_norm(layer_norm, verbose=True) -> CheckResult:
    """`layer_norm(x [..., C], params, epsilon=1e-5) -> [..., C]`: normalise each position over its
    C channels to mean 0, variance 1, then `* params["scale"] + params["bias"]` (both [C])."""
    rng = _rng(3)
    params = {"scale": 1 + 0.1 * rng.standard_normal(8), "bias": 0.1 * rng.standard_normal(8)}
    cases = [
        ("[B, T, C]", (3 + 2 * rng.standard_normal((2, 5, 8)), params), {}),
        ("[T, C], tiny variance", (1e-2 * rng.standard_normal((4, 8)), params), {}),
    ]
    return _check("layer_norm", layer_norm, ref.layer_norm, cases, LAYER_NORM_MISTAKES, verbose=verbose)


# ---- sinusoidal positional encoding ----------------------------------------------------------


def _positional_variant(swap=False, frequency_from_i=False, halves=False, start=0):
    def positional_encoding(positions_T, n_embd):
        positions = np.asarray(positions_T, np.float64)[:, None] + start
        i = np.arange(n_embd // 2)
        exponent = (i / n_embd) if frequency_from_i else (2 * i / n_embd)
        angles = positions / 10000.0**exponent  # [T, C/2]
        first, second = (np.cos(angles), np.sin(angles)) if swap else (np.sin(angles), np.cos(angles))
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
    return _check(
        "positional_encoding",
        positional_encoding,
        ref.sinusoidal_position_encoding,
        cases,
        POSITIONAL_MISTAKES,
        verbose=verbose,
    )


# ---- feed-forward ------------------------------------------------------------------------------


def _feed_forward_params(rng, C, F):
    dense = lambda i, o: {"kernel": rng.standard_normal((i, o)) / math.sqrt(i), "bias": 0.1 * rng.standard_normal(o)}  # noqa: E731
    return {"c_fc": dense(C, F), "c_proj": dense(F, C)}


FEED_FORWARD_MISTAKES = [
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


def check_feed_forward(feed_forward, verbose=True) -> CheckResult:
    """`feed_forward(x [B, T, C], params, activation="gelu_tanh") -> [B, T, C]`: params["c_fc"]
    (kernel [C, F], bias [F]), the activation, params["c_proj"] (kernel [F, C], bias [C])."""
    rng = _rng(4)
    params = _feed_forward_params(rng, 8, 32)
    cases = [("[B, T, C], F = 4C", (rng.standard_normal((2, 5, 8)), params), {})]
    return _check("feed_forward", feed_forward, ref.feed_forward, cases, FEED_FORWARD_MISTAKES, verbose=verbose)


# ---- the transformer block ---------------------------------------------------------------------


def _block_params(rng, C):
    norm = lambda: {"scale": 1 + 0.1 * rng.standard_normal(C), "bias": 0.1 * rng.standard_normal(C)}  # noqa: E731
    return {
        "ln_1": norm(),
        "attn": _attention_params(rng, C),
        "ln_2": norm(),
        "mlp": _feed_forward_params(rng, C, 4 * C),
    }


def _block(x, params, n_head, norm_first=True, attention_residual=True, same_norm=False):
    mha = lambda y: ref.multi_head_attention(y, params["attn"], n_head, causal=True)[0]  # noqa: E731
    mlp = lambda y: ref.feed_forward(y, params["mlp"])  # noqa: E731
    ln_2 = params["ln_1"] if same_norm else params["ln_2"]
    if not norm_first:
        x = ref.layer_norm(x + mha(x), params["ln_1"])
        return ref.layer_norm(x + mlp(x), ln_2)
    x = (x if attention_residual else 0) + mha(ref.layer_norm(x, params["ln_1"]))
    return x + mlp(ref.layer_norm(x, ln_2))


BLOCK_MISTAKES = [
    Mistake(
        "this is the 2017 paper's post-LN block, LN(x + f(x)); GPT-2 normalises first: x + f(LN(x)).",
        "x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))",
        lambda x, params, n_head: _block(x, params, n_head, norm_first=False),
    ),
    Mistake(
        "the attention sub-layer has no residual connection.",
        "x = x + attn(ln_1(x)): the block adds to the residual stream, it does not replace it",
        lambda x, params, n_head: _block(x, params, n_head, attention_residual=False),
    ),
    Mistake(
        "both sub-layers use ln_1; the feed-forward has its own LayerNorm, ln_2.",
        "x = x + mlp(ln_2(x))",
        lambda x, params, n_head: _block(x, params, n_head, same_norm=True),
    ),
]


def check_transformer_block(transformer_block, verbose=True) -> CheckResult:
    """`transformer_block(x [B, T, C], params, n_head) -> [B, T, C]`: GPT-2's pre-LN causal block,
    x + attn(ln_1(x)) then x + mlp(ln_2(x)), with params "ln_1", "attn" (as check_multi_head_attention),
    "ln_2" and "mlp" (as check_feed_forward)."""
    rng = _rng(5)
    params = _block_params(rng, 12)
    cases = [("[B, T, C], 3 heads", (rng.standard_normal((2, 6, 12)), params, 3), {})]
    correct = lambda x, params, n_head: ref.transformer_block(x, params, n_head, causal=True)  # noqa: E731
    return _check("transformer_block", transformer_block, correct, cases, BLOCK_MISTAKES, verbose=verbose)
