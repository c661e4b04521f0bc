"""Spreading batches over devices: a `data` mesh axis and `NamedSharding` (jax.pmap is legacy).

Each device gets an equal slice of the global batch; parameters are replicated. jit then
runs the step on every device at once and XLA inserts the gradient all-reduce itself.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec


def data_mesh(devices=None) -> Mesh:
    """A 1-D mesh over `devices` (default: all local devices) with the axis name "data"."""
    devices = jax.local_devices() if devices is None else devices
    return Mesh(np.array(devices), ("data",))


def check_divisible(batch_size: int, mesh: Mesh) -> None:
    n = mesh.shape["data"]
    if batch_size % n:
        raise ValueError(
            f"batch_size={batch_size} is not divisible by the {n} devices of the data axis: use a multiple of {n}"
        )


def shard_batch(batch, mesh: Mesh, batch_axis: int = 0):
    """Put each array of `batch` on the mesh, split along `batch_axis` over the data axis."""

    def put(x):
        check_divisible(x.shape[batch_axis], mesh)
        spec = PartitionSpec(*([None] * batch_axis), "data")
        return jax.device_put(x, NamedSharding(mesh, spec))

    return jax.tree.map(put, batch)


def replicate(tree, mesh: Mesh):
    """The same full copy of `tree` (parameters, optimizer state) on every device of the mesh."""
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def stack_per_device(x_BxT: np.ndarray, n_devices: int) -> np.ndarray:
    """[B, T] -> [devices, B / devices, T], the layout hand-written pmap/shard_map code expects."""
    B = x_BxT.shape[0]
    if B % n_devices:
        raise ValueError(f"batch_size={B} is not divisible by {n_devices} devices: use a multiple of {n_devices}")
    return x_BxT.reshape(n_devices, B // n_devices, *x_BxT.shape[1:])
