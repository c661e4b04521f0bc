"""Model FLOPs utilisation: the share of the device's peak that the training step turns into model math.

FLOPs per token (PaLM appendix B, as nanoGPT's estimate_mfu): 6 * N for the matrix multiplies of
forward and backward over the N parameters, plus 12 * n_layer * n_embd * T for attention's
q k^T and weights @ v. One training step of B * T tokens costs that times B * T.
"""

from __future__ import annotations

import functools
import time

import jax
import jax.numpy as jnp

# dense 16-bit peak FLOP/s per chip from the vendors' data sheets (bfloat16, float16 where noted); the
# first name found in the device's kind wins, so the PCIe and NVL cards come before the SXM figure of their family
PEAK_BF16_FLOPS = {
    "A100": 312e12,  # SXM and PCIe alike
    "H100 PCIe": 756e12,
    "H100 NVL": 835e12,
    "H200 NVL": 835e12,
    "H100": 989e12,  # SXM ("NVIDIA H100 80GB HBM3")
    "H200": 989e12,  # SXM
    "TPU v4": 275e12,
    "TPU v5 lite": 197e12,  # v5e reports itself as "TPU v5 lite"
    "TPU v5e": 197e12,
    "TPU v5p": 459e12,
    "TPU v5": 459e12,  # v5p (checked after "TPU v5 lite": the first match wins)
    "TPU v6 lite": 918e12,  # v6e (Trillium)
    "TPU v6e": 918e12,
    # no bfloat16 tensor cores: their float16 peak, the dtype `auto` trains them in
    "T4": 65e12,  # "Tesla T4", Colab's free GPU
    "V100": 125e12,  # SXM2
}


def flops_per_token(n_params: int, n_layer: int, n_embd: int, block_size: int) -> float:
    return 6 * n_params + 12 * n_layer * n_embd * block_size


@functools.lru_cache(maxsize=None)
def measure_peak_flops(device=None, dtype=jnp.float32, size: int = 1024, repeats: int = 5, rounds: int = 3) -> float:
    """FLOP/s of a `size`-square matrix multiply in `dtype` on `device`, on random data: `repeats`
    products queued back to back, the fastest of `rounds` (CPUs have no table; on a GPU, bench.py
    compares with this as well as with the data sheet). The fastest round, not the mean: a busy
    moment of a shared machine would lower the peak and lift MFU past 100%."""
    device = jax.local_devices()[0] if device is None else device
    a_NxN = jax.device_put(jax.random.normal(jax.random.key(0), (size, size), dtype), device)
    matmul = jax.jit(lambda x: x @ x)
    matmul(a_NxN).block_until_ready()  # compile
    fastest = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            out = matmul(a_NxN)
        out.block_until_ready()
        fastest = min(fastest, time.perf_counter() - start)
    return 2 * size**3 * repeats / fastest


def table_peak_flops(device=None) -> float | None:
    """The data-sheet dense 16-bit FLOP/s of `device`, or None when it is not in the table."""
    device = jax.local_devices()[0] if device is None else device
    kind = device.device_kind.lower()
    for name, flops in PEAK_BF16_FLOPS.items():
        if name.lower() in kind:
            return flops
    return None


def peak_flops(device=None, given: float = 0.0) -> float:
    """The peak FLOP/s that MFU divides by: `given` when > 0, else the data-sheet bfloat16 figure
    when the device is in the table, else a float32 matrix multiply measured on it."""
    if given > 0:
        return given
    return table_peak_flops(device) or measure_peak_flops(device)


def mesh_peak_flops(mesh, given: float = 0.0) -> float:
    """The peak of all devices of `mesh` (`given` FLOP/s per device, else `peak_flops`). Simulated
    CPU devices share the host's cores, whose matmul speed is measured as a whole: counted once."""
    devices = 1 if jax.default_backend() == "cpu" else mesh.size
    return peak_flops(given=given) * devices
