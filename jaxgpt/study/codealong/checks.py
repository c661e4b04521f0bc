"""Checks for your code-along modules: each runs your class and the video's (this package's) on the
same inputs with the same random parameters, mapped onto your module's tree by name, and prints a
verdict; for the classic slips (no 1/sqrt(head_size), 1/sqrt(n_embd) as in the video's first
take, a head that sees the future, a missing residual, post-LN) the verdict names the slip.

    class MyHead(nn.Module):                  # MyHead(config, head_size) on x [B, T, C] -> [B, T, D]
        ...
    check_head(MyHead)

Name your submodules as the video does (`key`, `query`, `value`, `heads_0`, `proj`, `net_0`,
`net_2`, `sa`, `ffwd`, `ln1`, `ln2`, `token_embedding_table`); parameters as nn.Dense's,
nn.Embed's and nn.LayerNorm's (`kernel`, `bias`, `embedding`, `scale`).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.study.codealong import formulas
from jaxgpt.study.codealong.attention import Head, MultiHeadAttention
from jaxgpt.study.codealong.averaging import average_loop
from jaxgpt.study.codealong.bigram import BigramLanguageModel
from jaxgpt.study.codealong.block import Block
from jaxgpt.study.codealong.config import CodeAlongConfig
from jaxgpt.study.codealong.feedforward import FeedFoward
from jaxgpt.study.codealong.slips import AVERAGING_SLIPS, BIGRAM_SLIPS, block_slips, ffwd_slips, head_slips
from jaxgpt.study.exercises.checking import CheckResult, ParameterMismatch, random_generator, run_check


def _path(key_path) -> str:
    return "/".join(str(getattr(key, "key", key)) for key in key_path)


def map_by_name(yours, video: dict):
    """`video`'s arrays placed in the tree of `yours`, path for path."""
    theirs = {_path(path): np.asarray(leaf) for path, leaf in jax.tree_util.tree_leaves_with_path(video)}
    mine = {_path(path): leaf for path, leaf in jax.tree_util.tree_leaves_with_path(yours)}
    for name, leaf in mine.items():
        if name not in theirs:
            no_bias = name.endswith("/bias") and name[: -len("bias")] + "kernel" in theirs
            why = "the video's layer has no bias: use_bias=False" if no_bias else f"the video's are {', '.join(theirs)}"
            raise ParameterMismatch(f"your parameter `{name}` {list(leaf.shape)} is not one of the video's ({why})")
        if tuple(leaf.shape) != theirs[name].shape:
            raise ParameterMismatch(f"your `{name}` is {list(leaf.shape)}, the video's {list(theirs[name].shape)}")
    missing = [name for name in theirs if name not in mine]
    if missing:
        raise ParameterMismatch(f"your module has no `{missing[0]}` {list(theirs[missing[0]].shape)}, the video's has")
    leaves = [jnp.asarray(theirs[_path(path)], jnp.float32) for path, _ in jax.tree_util.tree_leaves_with_path(yours)]
    return jax.tree.unflatten(jax.tree.structure(yours), leaves)


def _named(function, your_class):
    function.__name__ = getattr(your_class, "__name__", "your module")  # "not written yet: fill in `MyHead`"
    return function


def _check_module(name, your_class, make, cases, slips, verbose) -> CheckResult:
    """run_check of `make(your_class)` against `make(video's class)` on each (case, video's class,
    inputs); the video's random parameters (scaled, LayerNorm gains off 1) go into both."""
    rng = random_generator(11)
    prepared = []
    for case, video_class, inputs in cases:
        video = make(video_class)
        params = jax.tree.map(lambda p: 0.3 * rng.standard_normal(p.shape), video.init(jax.random.key(0), *inputs))
        prepared.append((case, (params["params"], *inputs), {}))

    def correct(params, *inputs):
        return np.asarray(make(video_class).apply({"params": params}, *inputs), np.float64)

    def yours(params, *inputs):
        module = make(your_class)
        mine = module.init(jax.random.key(0), *inputs).get("params", {})
        return module.apply({"params": map_by_name(mine, params)}, *inputs)

    return run_check(name, _named(yours, your_class), correct, prepared, slips, tol=1e-4, verbose=verbose)


def _x(B, T, C, seed=12):
    return jnp.asarray(random_generator(seed).standard_normal((B, T, C)), jnp.float32)


def check_averaging(average, verbose=True) -> CheckResult:
    """`average(x)`: x [B, T, C] -> xbow [B, T, C], xbow[b, t] = the mean of x[b, 0], ..., x[b, t]."""
    rng = random_generator(13)
    cases = [("the video's B, T, C = 4, 8, 2", (rng.standard_normal((4, 8, 2)),), {})]
    cases.append(("B, T, C = 2, 5, 3", (rng.standard_normal((2, 5, 3)),), {}))
    return run_check("check_averaging", average, average_loop, cases, AVERAGING_SLIPS, verbose=verbose)


def check_bigram(BigramClass, verbose=True) -> CheckResult:
    """`BigramClass(vocab_size=V)` on idx [B, T] -> logits [B, T, V], a table `token_embedding_table` [V, V]."""
    idx_BxT = jnp.asarray(random_generator(14).integers(0, 11, (3, 8)), jnp.int32)
    cases = [("V = 11, idx [3, 8]", BigramLanguageModel, (idx_BxT,))]
    return _check_module("check_bigram", BigramClass, lambda c: c(vocab_size=11), cases, BIGRAM_SLIPS, verbose)


CONFIG = CodeAlongConfig(block_size=8, n_embd=16, n_head=4, n_layer=1)  # head size 4, not C = 16


def check_head(HeadClass, verbose=True) -> CheckResult:
    """`HeadClass(config, head_size)` on x [B, T, C] -> [B, T, D]: causal, scaled by 1/sqrt(head_size)."""
    cases = [("T = block_size = 8", Head, (_x(2, 8, 16),)), ("T = 5, shorter than block_size", Head, (_x(2, 5, 16),))]
    make = lambda c: c(CONFIG, 4)  # noqa: E731
    return _check_module("check_head", HeadClass, make, cases, head_slips(formulas.head), verbose)


def check_multi_head(AttentionClass, verbose=True) -> CheckResult:
    """`AttentionClass(config, num_heads, head_size)` on x [B, T, C] -> [B, T, H * D] (`heads_0`, ...),
    then with config.residual `proj` (H * D -> C)."""
    checks = []
    for residual in (False, True):
        config = CodeAlongConfig(block_size=8, n_embd=16, residual=residual)
        case = (
            "4 heads of 4" + (", with proj (config.residual)" if residual else ""),
            MultiHeadAttention,
            (_x(2, 8, 16),),
        )
        make = lambda c, config=config: c(config, 4, 4)  # noqa: E731
        checks.append(
            _check_module("check_multi_head", AttentionClass, make, [case], head_slips(formulas.multi_head), False)
        )
        if not checks[-1]:
            break
    return _combined(checks, verbose)


def check_feed_foward(FeedFowardClass, verbose=True) -> CheckResult:
    """`FeedFowardClass(config)` on x [B, T, C] -> [B, T, C]: `net_0` and ReLU; with config.residual
    `net_0` (C -> 4C), ReLU, `net_2` (4C -> C)."""
    checks = []
    for residual in (False, True):
        config = CodeAlongConfig(n_embd=16, residual=residual)
        case = ("C -> 4C -> C (config.residual)" if residual else "C -> C", FeedFoward, (_x(2, 8, 16),))
        make = lambda c, config=config: c(config)  # noqa: E731
        checks.append(_check_module("check_feed_foward", FeedFowardClass, make, [case], ffwd_slips(), False))
        if not checks[-1]:
            break
    return _combined(checks, verbose)


BLOCK_CONFIGS = {
    "no residual, no LayerNorm": CodeAlongConfig(n_embd=16, residual=False, layernorm=False),
    "residual": CodeAlongConfig(n_embd=16, layernorm=False),
    "residual and pre-LN": CodeAlongConfig(n_embd=16),
}


def check_block(BlockClass, verbose=True) -> CheckResult:
    """`BlockClass(config)` on x [B, T, C] -> [B, T, C]: `sa` (config.n_head heads) then `ffwd`, each
    x + f(ln(x)) with config.residual and config.layernorm (`ln1`, `ln2`), else f(x)."""
    checks = []
    for case, config in BLOCK_CONFIGS.items():
        make = lambda c, config=config: c(config)  # noqa: E731
        slips = block_slips(config)
        checks.append(_check_module("check_block", BlockClass, make, [(case, Block, (_x(2, 8, 16),))], slips, False))
        if not checks[-1]:
            break
    return _combined(checks, verbose)


def remembered(check):
    """`check` that gives a class it has judged its verdict again without running it: a training cell
    asks whether your module passed the check its exercise cell just ran (each run costs seconds)."""
    verdicts = {}

    def checked(your_class, verbose=True):
        if your_class not in verdicts:
            verdicts[your_class] = check(your_class, verbose=False)
        if verbose:
            print(verdicts[your_class])
        return verdicts[your_class]

    return functools.wraps(check)(checked)


check_bigram, check_head, check_multi_head = map(remembered, (check_bigram, check_head, check_multi_head))
check_feed_foward, check_block = map(remembered, (check_feed_foward, check_block))


def _combined(checks, verbose) -> CheckResult:
    """One verdict for checks run one configuration at a time: the first failure, or every case passed."""
    failed = next((check for check in checks if not check), None)
    everything = CheckResult(checks[0].name, True, [case for check in checks for case in check.cases])
    result = everything if failed is None else failed  # not `failed or ...`: a failed result is falsy
    if verbose:
        print(result)
    return result
