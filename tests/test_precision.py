"""The compute dtype a device gets when none is named: nanoGPT's choice."""

import types

import jax
import pytest

from jaxgpt.training.devices.precision import device_dtype, resolve_dtype


def device(platform, compute_capability=None):
    fields = {"platform": platform}
    if compute_capability is not None:
        fields["compute_capability"] = compute_capability
    return types.SimpleNamespace(**fields)


@pytest.mark.parametrize(
    "platform,capability,expected",
    [
        ("tpu", None, "bfloat16"),  # every TPU computes in bfloat16 natively
        ("gpu", "8.0", "bfloat16"),  # A100: bfloat16 tensor cores
        ("gpu", "9.0", "bfloat16"),  # H100, H200
        ("gpu", "12.0", "bfloat16"),  # a two-digit major is read as a number, not a string
        ("gpu", "7.5", "float16"),  # Colab's T4: float16 tensor cores only
        ("gpu", "7.0", "float16"),  # V100
        ("gpu", None, "bfloat16"),  # an AMD GPU reports no compute capability
        ("cpu", None, "float32"),
    ],
)
def test_the_device_chooses_the_compute_dtype(platform, capability, expected):
    assert device_dtype(device(platform, capability)) == expected


def test_auto_is_this_machines_choice_and_a_named_dtype_is_kept():
    assert jax.default_backend() == "cpu" and resolve_dtype("auto") == "float32"
    assert resolve_dtype("float16") == "float16" and resolve_dtype("bfloat16") == "bfloat16"
