"""Spreading work over devices with a `Mesh` and `NamedSharding` (jax.pmap is legacy).

Each device gets an equal slice of the global batch. Parameters are replicated over the "data"
axis and, with an "fsdp" axis, split over it. jit then runs the step on every device at once
and XLA inserts the collectives (gradient all-reduce, parameter all-gather) itself.

With several processes (`jaxgpt.training.devices.distributed`) the mesh spans the devices of all of them; each
process puts only the rows of the batch that its own devices hold.
"""

from __future__ import annotations

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from jaxgpt.errors import InputError


def data_mesh(devices=None, spec: str | None = None) -> Mesh:
    """A mesh over `devices` (default: every device of every process) with axes ("data", "fsdp").

    `spec` is "data=8" or "data=4,fsdp=2"; by default every device is on the data axis. Both axes
    split the batch; "fsdp" also shards parameters and optimizer state (fully sharded data
    parallelism), so each device holds 1/fsdp of them."""
    devices = jax.devices() if devices is None else devices
    sizes = {"data": len(devices), "fsdp": 1}
    if spec:
        sizes = {"data": 1, "fsdp": 1}
        for part in spec.split(","):
            name, _, value = part.partition("=")
            if name.strip() not in sizes or not value.strip().isdigit() or int(value) < 1:
                raise InputError(f"--mesh {spec!r}: write it as data=N or data=N,fsdp=M with positive N and M")
            sizes[name.strip()] = int(value)
        if sizes["data"] * sizes["fsdp"] != len(devices):
            raise InputError(
                f"--mesh {spec!r} needs {sizes['data'] * sizes['fsdp']} devices, but {len(devices)} are present: "
                f"make data x fsdp = {len(devices)}"
            )
    return Mesh(np.array(devices).reshape(sizes["data"], sizes["fsdp"]), ("data", "fsdp"))


BATCH_AXES = ("data", "fsdp")  # the batch is split over every device


def check_divisible(batch_size: int, mesh: Mesh) -> None:
    n = mesh.size
    if batch_size % n:
        raise InputError(
            f"batch_size={batch_size} is not divisible by the {n} devices of the mesh: use a multiple of {n}"
        )


def fit_batch_to_devices(batch_size: int, accumulation: int, n_devices: int, keep_accumulation: bool = False):
    """(batch_size, accumulation) whose micro-batches `n_devices` split evenly, for a recipe's
    settings on a machine they were not written for: unchanged if they already divide; else the
    same sequences per step in fewer, larger micro-batches when the devices divide that number
    (nanoGPT's fine-tuning, 1 x 32, becomes 8 x 4 on a TPU v5e-8); else batch_size rounded up to
    the next multiple of `n_devices`. `keep_accumulation` leaves the accumulation as it is."""
    if batch_size % n_devices == 0:
        return batch_size, accumulation
    per_step = batch_size * accumulation
    if not keep_accumulation and per_step % n_devices == 0:
        larger = range(n_devices, per_step + 1, n_devices)  # micro-batch sizes the devices split
        micro = next(size for size in larger if size >= batch_size and per_step % size == 0)
        return micro, per_step // micro
    return -(-batch_size // n_devices) * n_devices, accumulation


def process_rows(sharding: NamedSharding, global_shape, axis: int) -> slice | None:
    """The rows along `axis` that this process's devices hold (all of them in a single process),
    or None when they are not one contiguous block (a custom device order)."""
    pieces = sharding.addressable_devices_indices_map(tuple(global_shape)).values()
    spans = sorted({piece[axis].indices(global_shape[axis])[:2] for piece in pieces})
    if any(stop != next_start for (_, stop), (next_start, _) in zip(spans, spans[1:])):
        return None
    return slice(spans[0][0], spans[-1][1])


def batch_sharding(mesh: Mesh, batch_axis: int = 0) -> NamedSharding:
    """Split along `batch_axis` over every device of the mesh; the other axes whole."""
    return NamedSharding(mesh, PartitionSpec(*([None] * batch_axis), BATCH_AXES))


def shard_batch(batch, mesh: Mesh, batch_axis: int = 0):
    """Put each array of `batch` on the mesh, split along `batch_axis` over all its devices.

    Every process passes the whole global batch (the same seeded draw) and puts only its own
    rows on its own devices, so a run on N processes sees exactly the batches of a run on one."""
    for x in jax.tree.leaves(batch):
        check_divisible(x.shape[batch_axis], mesh)
    if jax.process_count() == 1:  # every device is this process's: one device_put for all arrays, the quickest
        return jax.device_put(batch, batch_sharding(mesh, batch_axis))

    def put(x):
        sharding = batch_sharding(mesh, batch_axis)
        rows = process_rows(sharding, x.shape, batch_axis)
        if rows is None:  # scattered rows: let each device take its own piece of the global batch
            return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])
        local = x[(slice(None),) * batch_axis + (rows,)]
        return jax.make_array_from_process_local_data(sharding, local, x.shape)

    return jax.tree.map(put, batch)


def leaf_sharding(shape, mesh: Mesh) -> NamedSharding:
    """Replicated, except with fsdp > 1: split the largest dimension that fsdp divides."""
    fsdp = mesh.shape["fsdp"]
    spec = [None] * len(shape)
    divisible = [i for i, size in enumerate(shape) if fsdp > 1 and size % fsdp == 0]
    if divisible:
        spec[max(divisible, key=lambda i: shape[i])] = "fsdp"
    return NamedSharding(mesh, PartitionSpec(*spec))


def state_shardings(tree, mesh: Mesh):
    """The sharding of every leaf of a train state (arrays or ShapeDtypeStructs)."""
    return jax.tree.map(lambda leaf: leaf_sharding(leaf.shape, mesh), tree)


def shard_state(tree, mesh: Mesh):
    """Place parameters and optimizer state: a full copy on every device, or split over fsdp.

    Every process holds the same values (same seed, same file); with several processes each
    copies only the pieces its own devices hold."""
    if jax.process_count() == 1:
        return jax.device_put(tree, state_shardings(tree, mesh))

    def put(leaf, sharding):
        host = np.asarray(leaf)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(put, tree, state_shardings(tree, mesh))


def stack_per_device(x_BxT: np.ndarray, n_devices: int) -> np.ndarray:
    """[B, T] -> [devices, B / devices, T], the layout hand-written pmap/shard_map code expects."""
    B = x_BxT.shape[0]
    if B % n_devices:
        raise InputError(f"batch_size={B} is not divisible by {n_devices} devices: use a multiple of {n_devices}")
    return x_BxT.reshape(n_devices, B // n_devices, *x_BxT.shape[1:])
