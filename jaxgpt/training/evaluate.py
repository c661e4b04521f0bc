"""The loss on a whole split, every token scored once: what a sample of `eval_iters` random
batches estimates (20 batches of 12 x 64 tokens see about 1.4 % of tiny Shakespeare's
validation split, and two runs' samples differ by ~0.01 nats from that alone).

The split is cut into windows of `block_size` + 1 tokens that overlap by one: window i predicts
tokens[i*T + 1 : i*T + T + 1] from tokens[i*T : i*T + T]. The last, shorter piece is scored from
the full window that ends at the split's last token, counting only its new targets, so every
token but the first is a target exactly once.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.training.cross_entropy import cross_entropy
from jaxgpt.training.sharding import shard_batch


def split_windows(tokens: np.ndarray, block_size: int):
    """(x [N, T], y [N, T], counted [N, T] bool) covering every target of `tokens` once."""
    T = block_size
    n_full = (len(tokens) - 1) // T
    starts = list(range(0, n_full * T, T))
    counted = [np.ones(T, bool)] * n_full
    remainder = (len(tokens) - 1) - n_full * T
    if remainder:
        starts.append(len(tokens) - 1 - T)  # the window ending at the last token
        counted.append(np.arange(T) >= T - remainder)  # only the targets no earlier window scored
    offsets_T = np.arange(T)
    x_NxT = tokens[np.array(starts)[:, None] + offsets_T].astype(np.int32)
    y_NxT = tokens[np.array(starts)[:, None] + offsets_T + 1].astype(np.int32)
    return x_NxT, y_NxT, np.stack(counted)


@functools.partial(jax.jit, static_argnums=0)  # one compilation per model and batch shape: every split reuses it
def _summed_loss(model, params, x_BxT, y_BxT, counted_BxT):
    losses_BxT = cross_entropy(model.apply({"params": params}, x_BxT), y_BxT)
    return jnp.sum(jnp.where(counted_BxT, losses_BxT, 0.0))


def whole_split_loss(model, params, tokens: np.ndarray, block_size: int, batch_size: int = 64, mesh=None) -> float:
    """The mean next-token cross-entropy over every target of `tokens` (float32 logits' loss); with
    a `mesh`, each batch is split over its devices (batch_size a multiple of their number)."""
    x_NxT, y_NxT, counted_NxT = split_windows(tokens, block_size)
    pad = -len(x_NxT) % batch_size  # whole batches: one compiled shape
    x_NxT, y_NxT = np.pad(x_NxT, ((0, pad), (0, 0))), np.pad(y_NxT, ((0, pad), (0, 0)))
    counted_NxT = np.pad(counted_NxT, ((0, pad), (0, 0)))

    total = 0.0
    for start in range(0, len(x_NxT), batch_size):
        rows = slice(start, start + batch_size)
        batch = (x_NxT[rows], y_NxT[rows], counted_NxT[rows])
        total += float(_summed_loss(model, params, *(batch if mesh is None else shard_batch(batch, mesh))))
    return total / counted_NxT.sum()
