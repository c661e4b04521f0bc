"""Checks for your own Flax modules: the same cases, reference and diagnoses as the NumPy checks.

Each check turns your `nn.Module` class into the function its NumPy check takes: it builds your
module with the case's settings, initialises it, puts the case's parameters (GPT-2's layout) into
your module's own parameter tree, runs it, and hands the output to the NumPy check, which compares
it with `jaxgpt.model.reference` and names the classic mistakes.

Parameters are matched by name first (GPT-2's: `c_attn`, `c_proj`, `c_fc`, `ln_1`, `scale`,
`bias`, ...), then by shape when a shape is unique; anything else is a one-line verdict saying
which of your parameters has no counterpart, or which one is missing.

    class MyLayerNorm(nn.Module):
        epsilon: float = 1e-5

        @nn.compact
        def __call__(self, x):            # [..., C] -> [..., C]
            ...

    check_layer_norm_module(MyLayerNorm)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.study.exercises.attention import check_multi_head_attention
from jaxgpt.study.exercises.block import check_transformer_block
from jaxgpt.study.exercises.checking import CheckResult, ParameterMismatch
from jaxgpt.study.exercises.layers import check_feed_forward, check_layer_norm


def _path(key_path) -> str:
    return "/".join(str(getattr(key, "key", key)) for key in key_path)


def map_params(yours, reference: dict):
    """`reference`'s arrays (GPT-2's layout) placed in the tree of `yours` (your module's params)."""
    theirs = {_path(path): np.asarray(leaf) for path, leaf in jax.tree_util.tree_leaves_with_path(reference)}
    unused = dict(theirs)
    placed = {}
    for path, leaf in jax.tree_util.tree_leaves_with_path(yours):
        name, shape = _path(path), tuple(leaf.shape)
        same_shape = [other for other, value in unused.items() if value.shape == shape]
        # by name: the same path, or yours inside a wrapper (`block/attn/c_proj/bias` for `attn/c_proj/bias`)
        by_name = [other for other in same_shape if name == other or name.endswith("/" + other)]
        candidates = by_name or same_shape
        if len(candidates) != 1:
            others = ", ".join(f"`{other}`" for other in same_shape) or "none"
            raise ParameterMismatch(
                f"your parameter `{name}` {list(shape)} is none of GPT-2's of that shape ({others}) by name: "
                "name your submodules and parameters as GPT-2 does"
            )
        placed[name] = unused.pop(candidates[0])
    if unused:
        name, value = next(iter(unused.items()))
        raise ParameterMismatch(f"your module has no parameter for GPT-2's `{name}` {list(value.shape)}")
    leaves = [jnp.asarray(placed[_path(path)], jnp.float32) for path, _ in jax.tree_util.tree_leaves_with_path(yours)]
    return jax.tree.unflatten(jax.tree.structure(yours), leaves)


def _run(module, reference_params, *inputs, **call_kwargs):
    """Your module on float32 inputs, with the reference's parameters in your tree."""
    inputs = [jnp.asarray(x, jnp.float32) for x in inputs]
    yours = module.init(jax.random.key(0), *inputs, **call_kwargs).get("params", {})
    return module.apply({"params": map_params(yours, reference_params)}, *inputs, **call_kwargs)


def _named(function, module_class):
    function.__name__ = getattr(module_class, "__name__", "your module")  # "not written yet: fill in `...`"
    return function


def check_layer_norm_module(LayerNormClass, verbose=True) -> CheckResult:
    """`LayerNormClass(epsilon=...)` called on x [..., C], parameters `scale` and `bias` [C]."""
    return check_layer_norm(
        _named(lambda x, params, epsilon=1e-5: _run(LayerNormClass(epsilon=epsilon), params, x), LayerNormClass),
        verbose,
        name="check_layer_norm_module",
    )


def check_feed_forward_module(FeedForwardClass, verbose=True) -> CheckResult:
    """`FeedForwardClass(d_ff=F, activation="gelu_tanh")` on x [B, T, C], submodules `c_fc` and `c_proj`."""

    def feed_forward(x, params, activation="gelu_tanh"):
        d_ff = params["c_fc"]["kernel"].shape[1]
        return _run(FeedForwardClass(d_ff=d_ff, activation=activation), params, x)

    return check_feed_forward(_named(feed_forward, FeedForwardClass), verbose, name="check_feed_forward_module")


def check_attention_module(AttentionClass, verbose=True) -> CheckResult:
    """`AttentionClass(n_head=H, causal=...)` called as `(x, mask=None)` on x [B, T, C] (returning
    [B, T, C], or (out, weights)); submodules `c_attn` (C -> 3C) and `c_proj`."""

    def multi_head_attention(x, params, n_head, mask=None, causal=False):
        return _run(AttentionClass(n_head=n_head, causal=causal), params, x, mask=mask)

    return check_multi_head_attention(
        _named(multi_head_attention, AttentionClass), verbose, name="check_attention_module"
    )


def check_block_module(BlockClass, verbose=True) -> CheckResult:
    """`BlockClass(n_head=H)` on x [B, T, C]: GPT-2's causal pre-LN block, submodules `ln_1`, `attn`
    (as check_attention_module), `ln_2`, `mlp` (as check_feed_forward_module, d_ff = 4C)."""
    return check_transformer_block(
        _named(lambda x, params, n_head: _run(BlockClass(n_head=n_head), params, x), BlockClass),
        verbose,
        name="check_block_module",
    )
