"""The compute dtype: float32, bfloat16 or float16, and the one a device computes best in.

Parameters stay float32 whatever the compute dtype (`jaxgpt.model.params.cast_params`); float16
also needs a dynamic loss scale (`jaxgpt.training.step.loss_scale`)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16, "float16": jnp.float16}
AUTO = "auto"  # TrainConfig.dtype's default: the device's choice, `device_dtype()`


def device_dtype(device=None) -> str:
    """The dtype to compute in when none is named, as nanoGPT chooses: bfloat16 on TPUs and on
    GPUs with bfloat16 tensor cores (compute capability 8.0, Ampere, and newer); float16 on older
    GPUs (Colab's T4 is 7.5, a V100 7.0), which have float16 tensor cores only; float32 on CPUs,
    where 16-bit matrix multiplies are no faster."""
    device = jax.devices()[0] if device is None else device
    if device.platform == "tpu":
        return "bfloat16"
    if device.platform == "gpu":
        capability = getattr(device, "compute_capability", None)  # NVIDIA's "7.5"; AMD GPUs have none
        if capability is not None and int(str(capability).split(".")[0]) < 8:
            return "float16"
        return "bfloat16"
    return "float32"


def resolve_dtype(name: str) -> str:
    """`name`, or this machine's `device_dtype()` for "auto"."""
    return device_dtype() if name == AUTO else name
