"""Checks for the modules the NumPy exercises do not cover, against jaxgpt's own Flax modules:
positions (sinusoidal, learned), cross-attention with a padding mask, the post-LN block of 2017,
and a whole GPT. The parameters of jaxgpt's module (random, LayerNorm gains included) are put into
your module's tree as `jaxgpt.study.exercises.modules.map_params` does; then both run on the same
inputs and the check compares the outputs at float32 precision.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.model.attention import MultiHeadAttention
from jaxgpt.model.block import TransformerBlock
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.positional import LearnedPositionalEmbedding, SinusoidalPositionalEncoding
from jaxgpt.study.exercises.checking import CheckResult, random_generator, run_check
from jaxgpt.study.exercises.modules import _named, map_params


def _check_against(name, your_class, reference, make_yours, cases, verbose) -> CheckResult:
    """run_check of `make_yours(your_class)` against `reference` (a jaxgpt module) on each
    (case name, inputs, call kwargs), with the reference's random parameters in both."""
    rng = random_generator(7)

    def reference_params(inputs, kwargs):
        params = reference.init(jax.random.key(0), *inputs, **kwargs).get("params", {})
        return jax.tree.map(lambda p: jnp.asarray(0.3 * rng.standard_normal(p.shape), jnp.float32), params)

    prepared = []
    for case, inputs, kwargs in cases:
        params = reference_params(inputs, kwargs)
        prepared.append((case, (params, *inputs), kwargs))

    def correct(params, *inputs, **kwargs):
        return np.asarray(reference.apply({"params": params}, *inputs, **kwargs), np.float64)

    def yours(params, *inputs, **kwargs):
        module = make_yours(your_class)
        mine = module.init(jax.random.key(0), *inputs, **kwargs).get("params", {})
        return module.apply({"params": map_params(mine, params)}, *inputs, **kwargs)

    return run_check(name, _named(yours, your_class), correct, prepared, [], tol=1e-4, verbose=verbose)


def check_sinusoidal_module(PositionalClass, verbose=True) -> CheckResult:
    """`PositionalClass(n_embd=C)` on positions [T] -> [T, C], no parameters (the 2017 paper's sinusoids)."""
    cases = [("16 positions, C = 8", (jnp.arange(16),), {}), ("positions 5..11, C = 12", (jnp.arange(5, 12),), {})]
    return _check_against(
        "check_sinusoidal_module",
        PositionalClass,
        SinusoidalPositionalEncoding(n_embd=8),
        lambda c: c(n_embd=8),
        cases[:1],
        verbose,
    ) and _check_against(
        "check_sinusoidal_module",
        PositionalClass,
        SinusoidalPositionalEncoding(n_embd=12),
        lambda c: c(n_embd=12),
        cases[1:],
        verbose,
    )


def check_learned_positions_module(PositionalClass, verbose=True) -> CheckResult:
    """`PositionalClass(block_size=P, n_embd=C)` on positions [T] -> [T, C] from a table `embedding` [P, C]."""
    cases = [("positions 0..9 of 16", (jnp.arange(10),), {}), ("positions 3..15", (jnp.arange(3, 16),), {})]
    reference = LearnedPositionalEmbedding(block_size=16, n_embd=8)
    return _check_against(
        "check_learned_positions_module",
        PositionalClass,
        reference,
        lambda c: c(block_size=16, n_embd=8),
        cases,
        verbose,
    )


def check_cross_attention_module(AttentionClass, verbose=True) -> CheckResult:
    """`AttentionClass(n_head=H)` called as `(x [B, T, C], context [B, S, C], mask=[B, 1, 1, S] or None)`:
    q from x through `c_q`, k and v from the context through `c_kv` (C -> 2C), heads, `c_proj`."""
    rng = random_generator(8)
    x, context = jnp.asarray(rng.standard_normal((2, 5, 12)), jnp.float32), jnp.asarray(rng.standard_normal((2, 7, 12)))
    padding = np.ones((2, 1, 1, 7), bool)
    padding[1, ..., 4:] = False
    cases = [
        ("cross, S != T", (x, context), {}),
        ("cross, padded source", (x, context), {"mask": jnp.asarray(padding)}),
    ]
    return _check_against(
        "check_cross_attention_module",
        AttentionClass,
        MultiHeadAttention(n_head=3),
        lambda c: c(n_head=3),
        cases,
        verbose,
    )


def check_post_ln_block_module(BlockClass, verbose=True) -> CheckResult:
    """`BlockClass(n_head=H)` on x [B, T, C]: the 2017 paper's post-LN encoder block, not causal:
    x = ln_1(x + attn(x)), then ln_2(x + mlp(x)); submodules as GPT-2 names them, d_ff = 4C."""
    x = jnp.asarray(random_generator(9).standard_normal((2, 6, 12)), jnp.float32)
    reference = TransformerBlock(n_head=3, d_ff=48, norm_first=False, activation="gelu_tanh")
    return _check_against(
        "check_post_ln_block_module", BlockClass, reference, lambda c: c(n_head=3), [("[B, T, C]", (x,), {})], verbose
    )


def check_gpt_module(GPTClass, verbose=True) -> CheckResult:
    """`GPTClass(config)` (a GPTConfig) on token ids [B, T] -> logits [B, T, V], GPT-2's parameter
    names (wte, wpe, h_0 ..., ln_f; the head tied to wte)."""
    config = GPTConfig(vocab_size=23, block_size=16, n_layer=2, n_head=2, n_embd=16)
    idx = jnp.asarray(random_generator(10).integers(0, 23, (2, 9)), jnp.int32)
    return _check_against(
        "check_gpt_module", GPTClass, GPT(config), lambda c: c(config), [("[B, T] tokens", (idx,), {})], verbose
    )
