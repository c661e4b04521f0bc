"""Test session setup: two simulated CPU devices, so data-parallel code runs for real.

XLA reads the flag once, when JAX starts, hence here, before any test imports jax."""

import os
import pathlib

import pytest

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

SHAKESPEARE = pathlib.Path(__file__).resolve().parents[2] / "shared" / "data" / "tinyshakespeare.txt"


@pytest.fixture(scope="session")
def shakespeare_path() -> pathlib.Path:
    assert SHAKESPEARE.is_file(), f"tests need the shared copy of tiny Shakespeare at {SHAKESPEARE}"
    return SHAKESPEARE
