"""MFU: the FLOPs formula, the device table and the peak that MFU divides by."""

import types

import pytest

from jaxgpt.training.devices.mfu import flops_per_token, measure_peak_flops, peak_flops, table_peak_flops


def test_flops_per_token_is_six_n_plus_attention():
    # GPT-2 124M at block 1024: 6 * 124,439,808 + 12 * 12 * 768 * 1024 (PaLM appendix B)
    assert flops_per_token(124_439_808, 12, 768, 1024) == 6 * 124_439_808 + 113_246_208


@pytest.mark.parametrize(
    "kind,peak",
    [
        ("NVIDIA A100-SXM4-80GB", 312e12),
        ("NVIDIA H100 80GB HBM3", 989e12),
        ("NVIDIA H200", 989e12),
        ("NVIDIA H100 PCIe", 756e12),
        ("NVIDIA H100 NVL", 835e12),
        ("NVIDIA H200 NVL", 835e12),
        ("TPU v4", 275e12),
        ("TPU v5 lite", 197e12),  # v5e
        ("TPU v5", 459e12),  # v5p
        ("TPU v5p", 459e12),
        ("TPU v6 lite", 918e12),  # v6e
        ("Tesla T4", 65e12),  # float16: no bfloat16 tensor cores
        ("Tesla V100-SXM2-16GB", 125e12),
        ("cpu", None),
    ],
)
def test_device_table(kind, peak):
    assert table_peak_flops(types.SimpleNamespace(device_kind=kind)) == peak


def test_cpu_peak_is_measured_or_given():
    measured = measure_peak_flops(size=256, repeats=2)
    assert 1e8 < measured < 1e14  # a real matrix multiply took real time
    assert peak_flops(given=3e12) == 3e12
