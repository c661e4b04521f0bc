"""Exercise of day 3: GPT-2's transformer block, pre-LN and causal, from your attention, LayerNorm
and feed-forward."""

from __future__ import annotations

from jaxgpt.model import reference as ref
from jaxgpt.study.exercises.attention import _attention_params
from jaxgpt.study.exercises.checking import CheckResult, Mistake, random_generator, run_check
from jaxgpt.study.exercises.layers import _feed_forward_params

# ---- the transformer block ---------------------------------------------------------------------


def _block_params(rng, C):
    norm = lambda: {"scale": 1 + 0.1 * rng.standard_normal(C), "bias": 0.1 * rng.standard_normal(C)}  # noqa: E731
    return {
        "ln_1": norm(),
        "attn": _attention_params(rng, C),
        "ln_2": norm(),
        "mlp": _feed_forward_params(rng, C, 4 * C),
    }


def _block(
    x,
    params,
    n_head,
    norm_first=True,
    attention_residual=True,
    mlp_residual=True,
    same_norm=False,
    causal=True,
    norm_the_stream=False,
):
    mha = lambda y: ref.multi_head_attention(y, params["attn"], n_head, causal=causal)[0]  # noqa: E731
    mlp = lambda y: ref.feed_forward(y, params["mlp"])  # noqa: E731
    ln_2 = params["ln_1"] if same_norm else params["ln_2"]
    if not norm_first:
        x = ref.layer_norm(x + mha(x), params["ln_1"])
        return ref.layer_norm(x + mlp(x), ln_2)
    if norm_the_stream:  # x = ln_1(x); x = x + attn(x): the stream itself is normalised
        x = ref.layer_norm(x, params["ln_1"])
        x = x + mha(x)
        x = ref.layer_norm(x, ln_2)
        return x + mlp(x)
    x = (x if attention_residual else 0) + mha(ref.layer_norm(x, params["ln_1"]))
    return (x if mlp_residual else 0) + mlp(ref.layer_norm(x, ln_2))


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
        "the feed-forward sub-layer has no residual connection.",
        "x = x + mlp(ln_2(x)): the block adds to the residual stream, it does not replace it",
        lambda x, params, n_head: _block(x, params, n_head, mlp_residual=False),
    ),
    Mistake(
        "the block has no residual connections at all: each sub-layer replaces x instead of adding to it.",
        "x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))",
        lambda x, params, n_head: _block(x, params, n_head, attention_residual=False, mlp_residual=False),
    ),
    Mistake(
        "the block's attention is not causal: each position also reads the positions after it.",
        "GPT-2's block is causal: mask the scores with the lower-triangular causal mask (True where s <= t)",
        lambda x, params, n_head: _block(x, params, n_head, causal=False),
    ),
    Mistake(
        "LayerNorm is applied to the residual stream itself (x = ln_1(x)); it should only feed the sub-layer.",
        "x = x + attn(ln_1(x)): the stream x is carried on unnormalised, only attn's input is normalised",
        lambda x, params, n_head: _block(x, params, n_head, norm_the_stream=True),
    ),
    Mistake(
        "both sub-layers use ln_1; the feed-forward has its own LayerNorm, ln_2.",
        "x = x + mlp(ln_2(x))",
        lambda x, params, n_head: _block(x, params, n_head, same_norm=True),
    ),
]


def check_transformer_block(transformer_block, verbose=True, name="check_transformer_block") -> CheckResult:
    """`transformer_block(x [B, T, C], params, n_head) -> [B, T, C]`: GPT-2's pre-LN causal block,
    x + attn(ln_1(x)) then x + mlp(ln_2(x)), with params "ln_1", "attn" (as check_multi_head_attention),
    "ln_2" and "mlp" (as check_feed_forward)."""
    rng = random_generator(5)
    params = _block_params(rng, 12)
    cases = [("[B, T, C], 3 heads", (rng.standard_normal((2, 6, 12)), params, 3), {})]
    correct = lambda x, params, n_head: ref.transformer_block(x, params, n_head, causal=True)  # noqa: E731
    return run_check(name, transformer_block, correct, cases, BLOCK_MISTAKES, verbose=verbose)
