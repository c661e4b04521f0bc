"""Small helpers shared by the tests: float64 copies and one tolerance rule."""

import functools
import importlib
import math
import pathlib

import jax
import numpy as np

from jaxgpt.model import reference

# float32 computation against the float64 reference: relative and absolute error bound
TOL = 2e-5


class deferred:
    """A module imported at its first use, not when a test module is collected: every worker of the
    suite collects every module, and torch with transformers costs each worker ~3 s of CPU to import.
    tests/test_ci.py reads `deferred("name")` as an import of `name`."""

    def __init__(self, module_name: str):
        self._module_name = module_name

    def __getattr__(self, attribute):
        return getattr(importlib.import_module(self._module_name), attribute)


def f64(tree):
    """A float64 NumPy copy of a pytree of parameters or an array."""
    return reference.as_float64(tree)


def assert_close(actual, expected, tol=TOL):
    np.testing.assert_allclose(np.asarray(actual, np.float64), np.asarray(expected, np.float64), rtol=tol, atol=tol)


def nanogpt_lr(it, learning_rate, warmup_iters, lr_decay_iters, min_lr):
    """nanoGPT's get_lr, as its train.py writes it: linear warmup to learning_rate, then cosine to min_lr."""
    if it < warmup_iters:
        return learning_rate * (it + 1) / (warmup_iters + 1)
    if it > lr_decay_iters:
        return min_lr
    ratio = (it - warmup_iters) / (lr_decay_iters - warmup_iters)
    return min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (learning_rate - min_lr)


def random_mask(rng, shape, keep=0.7):
    """A random boolean mask that keeps at least one key (the last axis) in every row."""
    mask = rng.random(shape) < keep
    mask[..., 0] = True
    return mask


@functools.partial(jax.jit, static_argnames=("seed", "scale"))  # one compiled program, not one per shape
def randomise(params, seed=1, scale=0.3):
    """Replace every parameter (LayerNorm ones and zeros included) by random values, so each is tested."""
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.key(seed), len(leaves))
    return jax.tree.unflatten(tree, [scale * jax.random.normal(k, leaf.shape) for k, leaf in zip(keys, leaves)])


COLAB_PINS = pathlib.Path(__file__).resolve().parents[1] / ".ci" / "colab-constraints.txt"


def colab_pins() -> dict[str, str]:
    """Colab's versions, name -> version, from .ci/colab-constraints.txt (comments skipped)."""
    lines = (line.split("#")[0].strip() for line in COLAB_PINS.read_text().splitlines())
    return dict(line.split("==") for line in lines if line)
