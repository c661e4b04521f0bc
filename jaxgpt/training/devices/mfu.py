"""Model FLOPs utilisation: the share of the device's peak that the training step turns into model math.

FLOPs per token (PaLM appendix B, as nanoGPT's estimate_mfu): 6 * N for the matrix multiplies of
forward and backward over the N parameters, plus 12 * n_layer * n_embd * T for attention's
q k^T and weights @ v. One training step of B * T tokens costs that times B * T.

The peak it divides by: the data sheet's dense 16-bit figure for GPUs and TPUs; on a CPU, which
has no table, a float32 matrix multiply timed on this machine (the fastest of several rounds) on
its first run, and kept in the cache folder (`peak_flops.json`, per processor and core count). A
peak timed while another process was busy would be low and lift MFU past 100%: when a run sees
that, it times the peak again, keeps the higher figure, and shows MFU capped at 100%.
"""

from __future__ import annotations

import functools
import json
import os
import pathlib
import time

import jax
import jax.numpy as jnp

from jaxgpt.atomic import write_atomically
from jaxgpt.data.cache import cache_dir

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
def measure_peak_flops(device=None, dtype=jnp.float32, size: int = 1024, repeats: int = 5, rounds: int = 5) -> float:
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


def machine_name(device=None) -> str:
    """The key of this machine's kept peak: the device kind, the processor's model name and the
    cores this process may use (a container given fewer cores has a lower peak)."""
    device = jax.local_devices()[0] if device is None else device
    processor = ""
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines() if line.startswith("model name")
        ]
        processor = names[0] if names else ""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{device.platform} {device.device_kind} | {processor or 'unknown processor'} | {cores} cores"


def _kept_peaks() -> dict:
    try:
        kept = json.loads((cache_dir() / "peak_flops.json").read_text())
    except (OSError, ValueError):  # none yet, or unreadable: measure again
        return {}
    return kept if isinstance(kept, dict) else {}


def keep_peak_flops(flops: float, device=None) -> None:
    """Keep `flops` as this machine's peak if it is higher than the one kept (a best effort: a
    cache folder that cannot be written only means measuring again next time)."""
    name, kept = machine_name(device), _kept_peaks()
    if flops <= kept.get(name, 0.0):
        return
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        write_atomically(cache_dir() / "peak_flops.json", json.dumps({**kept, name: flops}, indent=1))
    except OSError:
        pass


def machine_peak_flops(device=None, measure_again: bool = False) -> float:
    """This machine's measured peak, timed on its first run and kept in the cache folder;
    `measure_again`: time it now and keep the higher of the two."""
    kept = _kept_peaks().get(machine_name(device))
    kept = float(kept) if isinstance(kept, (int, float)) and kept > 0 else 0.0
    if kept and not measure_again:
        return kept
    measured = measure_peak_flops.__wrapped__(device)  # timed now, not the figure measured earlier in this process
    keep_peak_flops(measured, device)
    return max(kept, measured)


def peak_flops(device=None, given: float = 0.0) -> float:
    """The peak FLOP/s that MFU divides by: `given` when > 0, else the data-sheet bfloat16 figure
    when the device is in the table, else this machine's measured peak (`machine_peak_flops`)."""
    if given > 0:
        return given
    return table_peak_flops(device) or machine_peak_flops(device)


def mesh_peak_flops(mesh, given: float = 0.0) -> float:
    """The peak of all devices of `mesh` (`given` FLOP/s per device, else `peak_flops`). Simulated
    CPU devices share the host's cores, whose matmul speed is measured as a whole: counted once."""
    return peak_flops(given=given) * devices_counted(mesh)


def devices_counted(mesh) -> int:
    return 1 if jax.default_backend() == "cpu" else mesh.size


def shown_mfu(achieved: float, peak: float) -> float:
    """MFU as shown and logged: never above 1 (100%), whatever a low peak says."""
    return min(1.0, achieved / peak)


class MfuMeter:
    """MFU of the FLOP/s a run achieves, against `mesh`'s peak (`given` per device, else
    `peak_flops`'s). Above 100% against a measured peak, that peak was timed while another process
    was busy: it is timed again then (once a run) and the higher figure kept; MFU is capped at 1."""

    def __init__(self, mesh, given: float = 0.0):
        self.mesh = mesh
        self.peak = mesh_peak_flops(mesh, given)
        self.checked = given > 0 or table_peak_flops() is not None  # a data-sheet peak is not timed again

    def __call__(self, achieved_flops: float) -> float:
        if achieved_flops > self.peak and not self.checked:
            self.checked = True
            self.peak = max(self.peak, machine_peak_flops(measure_again=True) * devices_counted(self.mesh))
        return shown_mfu(achieved_flops, self.peak)
