"""MFU: the FLOPs formula, the device table, the peak that MFU divides by (a CPU's timed once per
machine and kept), and the cap at 100%."""

import json
import types

import pytest

from jaxgpt.training.devices import mfu
from jaxgpt.training.devices.mfu import flops_per_token, measure_peak_flops, peak_flops, table_peak_flops
from jaxgpt.training.devices.sharding import data_mesh


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


class CountedTimings:
    """Stands in for the matmul timing: says `flops` and counts the calls."""

    def __init__(self, *flops):
        self.flops, self.calls = list(flops), 0

    def __wrapped__(self, device=None):  # machine_peak_flops times afresh through __wrapped__
        self.calls += 1
        return self.flops.pop(0)


def test_the_cpu_peak_is_timed_once_per_machine_and_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(tmp_path))
    timings = CountedTimings(2e11)
    monkeypatch.setattr(mfu, "measure_peak_flops", timings)
    assert mfu.machine_peak_flops() == 2e11 and mfu.machine_peak_flops() == 2e11
    assert timings.calls == 1  # the second run read it from the cache
    kept = json.loads((tmp_path / "peak_flops.json").read_text())
    assert kept == {mfu.machine_name(): 2e11} and "cores" in mfu.machine_name()
    mfu.keep_peak_flops(1e11)  # a lower figure (a busy moment) never replaces a higher one
    assert mfu.machine_peak_flops() == 2e11


def test_mfu_over_100_percent_times_the_peak_again_and_is_capped(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(tmp_path))
    mfu.keep_peak_flops(1e9)  # timed while another process was busy
    timings = CountedTimings(3e9)
    monkeypatch.setattr(mfu, "measure_peak_flops", timings)
    meter = mfu.MfuMeter(data_mesh())
    assert meter.peak == 1e9 and timings.calls == 0
    assert meter(5e8) == 0.5
    assert meter(2e9) == pytest.approx(2 / 3)  # over 100%: timed again, the higher peak kept
    assert timings.calls == 1 and mfu.machine_peak_flops() == 3e9
    assert meter(6e9) == 1.0 and timings.calls == 1  # timed again once a run; shown capped
    assert mfu.MfuMeter(data_mesh(), given=1e9)(2e9) == 1.0  # a given peak is never timed
    assert timings.calls == 1
