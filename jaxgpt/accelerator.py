"""What JAX runs on: the versions of the JAX stack, the devices it found, and whether a TPU or GPU
that the machine has went unseen.

On Colab and Kaggle the TPU or GPU is reached through a plugin installed with the runtime (libtpu,
jax-cuda12-plugin) built for one jax release. Upgrading jax past it (`pip install -U jax`, or a
package whose lower bound is newer) breaks the match, and JAX falls back to the CPU with a warning
few people read: a run then takes hours instead of minutes. `check_accelerator` says so, and the fix."""

from __future__ import annotations

import importlib.metadata
import os
import pathlib

import jax

from jaxgpt.errors import JaxgptError

# the distributions worth printing, when installed: the JAX stack and the accelerators' plugins
PACKAGES = (
    "jax",
    "jaxlib",
    "libtpu",
    "libtpu-nightly",
    "jax-cuda12-plugin",
    "jax-cuda13-plugin",
    "flax",
    "optax",
    "orbax-checkpoint",
    "numpy",
)
# signs that the machine has an accelerator, whatever JAX found: device files, and the variables
# that TPU VMs (Colab's, Kaggle's, Cloud's) set
GPU_FILES = ("/dev/nvidia0",)
TPU_FILES = ("/dev/accel0", "/dev/vfio/0")
TPU_VARIABLES = ("TPU_ACCELERATOR_TYPE", "TPU_NAME", "COLAB_TPU_ADDR")


class AcceleratorMissing(JaxgptError):
    """The machine has a TPU or GPU but JAX runs on the CPU; the message says why and what to do."""


def installed_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return versions


def machine_accelerator(environ=None, exists=None) -> str | None:
    """ "tpu" or "gpu" when the machine has one (its device files or a TPU VM's variables), else None."""
    environ = os.environ if environ is None else environ
    exists = (lambda path: pathlib.Path(path).exists()) if exists is None else exists
    if any(exists(path) for path in TPU_FILES) or any(environ.get(name) for name in TPU_VARIABLES):
        return "tpu"
    if any(exists(path) for path in GPU_FILES):
        return "gpu"
    return None


def missing_accelerator_message(hardware: str, versions: dict[str, str]) -> str:
    plugin = next((f"{name} {v}" for name, v in versions.items() if name.startswith(("libtpu", "jax-cuda"))), None)
    if plugin is None:
        why = f"no {'libtpu' if hardware == 'tpu' else 'CUDA plugin'} for it is installed"
    else:
        why = f"jax and {plugin} do not match (upgrading jax does this)"
    return (
        f"this machine has a {hardware.upper()} but JAX {versions.get('jax', '?')} runs on the CPU: {why}. "
        "Fix: Runtime > Disconnect and delete runtime, then run again from the top: install jaxgpt as the first "
        "cell does, which keeps the runtime's jax, and never `pip install -U jax`"
    )


def check_accelerator(environ=None, exists=None, say=print) -> str:
    """Print the JAX stack's versions and the devices; return the backend ("tpu", "gpu" or "cpu").
    Raises AcceleratorMissing when the machine has a TPU or GPU that JAX does not use."""
    versions = installed_versions()
    say(", ".join(f"{name} {version}" for name, version in versions.items()))
    devices, backend = jax.devices(), jax.default_backend()
    say(f"{len(devices)} device(s): {', '.join(sorted({d.device_kind for d in devices}))} ({backend})")
    hardware = machine_accelerator(environ, exists)
    if backend == "cpu" and hardware is not None:
        raise AcceleratorMissing(missing_accelerator_message(hardware, versions))
    if backend == "cpu":
        say("no TPU or GPU on this machine: training on the CPU (Colab: Runtime > Change runtime type for one)")
    return backend
