"""The accelerator check: versions and devices printed, and a TPU or GPU that JAX does not use is
a one-line stop with the fix, never a silent run on the CPU."""

import jax
import pytest

from jaxgpt.accelerator import AcceleratorMissing, check_accelerator, machine_accelerator, missing_accelerator_message


def no_files(path):
    return False


@pytest.mark.parametrize(
    "files,environ,expected",
    [
        ({"/dev/accel0"}, {}, "tpu"),  # a TPU VM's device file
        ({"/dev/vfio/0"}, {}, "tpu"),  # v5e and later TPU VMs
        (set(), {"TPU_ACCELERATOR_TYPE": "v5litepod-8"}, "tpu"),
        ({"/dev/nvidia0"}, {}, "gpu"),
        (set(), {"TPU_ACCELERATOR_TYPE": ""}, None),  # an empty variable is no TPU
        (set(), {}, None),
    ],
)
def test_the_machines_accelerator_is_found_from_device_files_and_tpu_variables(files, environ, expected):
    assert machine_accelerator(environ, files.__contains__) == expected


def test_a_cpu_machine_reports_its_versions_and_devices_and_carries_on():
    said = []
    assert check_accelerator({}, no_files, said.append) == "cpu"
    assert f"jax {jax.__version__}" in said[0] and "flax " in said[0] and "numpy " in said[0]
    assert said[1].startswith(f"{jax.device_count()} device(s): cpu (cpu)")
    assert "no TPU or GPU on this machine" in said[2]


@pytest.mark.parametrize("hardware,files", [("tpu", {"/dev/accel0"}), ("gpu", {"/dev/nvidia0"})])
def test_an_accelerator_jax_does_not_see_stops_with_the_fix(hardware, files):
    with pytest.raises(AcceleratorMissing) as caught:
        check_accelerator({}, files.__contains__, lambda *_: None)
    message = str(caught.value)
    assert f"this machine has a {hardware.upper()} but JAX {jax.__version__} runs on the CPU" in message
    assert "Disconnect and delete runtime" in message and "never `pip install -U jax`" in message
    assert "\n" not in message


def test_the_message_names_the_plugin_that_does_not_match():
    versions = {"jax": "0.10.2", "jaxlib": "0.10.2", "libtpu": "0.0.21.1"}
    assert "jax and libtpu 0.0.21.1 do not match" in missing_accelerator_message("tpu", versions)
    assert "runs on the CPU: no CUDA plugin for it is installed." in missing_accelerator_message(
        "gpu", {"jax": "0.10.2"}
    )
