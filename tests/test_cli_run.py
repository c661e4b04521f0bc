"""jaxgpt/cli/run.py, which every script runs its main through: an error is one line and an exit
code, never a traceback, and XLA's fast GPU flags are on unless the user set them."""

import os

import jax
import pytest
from cli_runs import run_main, script

from jaxgpt.cli.run import FAST_XLA_FLAGS, add_fast_xla_flags, run


def test_errors_from_the_real_script_are_one_line_without_traceback(tmp_path):
    result = script("sample.py", "--out_dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sample.py: error: {tmp_path / 'nowhere'} does not exist: train first, or pass the --out_dir of a training run"
    ]


def test_a_failing_device_is_one_line_and_exit_code_1(monkeypatch, capsys):
    def out_of_memory(argv):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB\nthe runtime's details")

    exit_code, line = run_main(monkeypatch, capsys, out_of_memory)
    assert exit_code == 1
    assert (
        line
        == "train.py: error: RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB (JAXGPT_DEBUG=1 shows the traceback)"
    )


def test_scripts_turn_on_the_fast_gpu_flags_but_keep_the_users_own(monkeypatch):
    environ = {}
    add_fast_xla_flags(environ)
    assert environ["XLA_FLAGS"] == " ".join(f"{name}={value}" for name, value in FAST_XLA_FLAGS.items())
    environ = {"XLA_FLAGS": "--xla_gpu_enable_cudnn_layer_norm=false --xla_dump_to=/tmp/x"}
    add_fast_xla_flags(environ)
    assert environ["XLA_FLAGS"] == "--xla_gpu_enable_cudnn_layer_norm=false --xla_dump_to=/tmp/x"
    # run() sets them before the script's main runs
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    seen = []
    with pytest.raises(SystemExit):
        run(lambda argv: seen.append(os.environ["XLA_FLAGS"]) or 0)
    assert seen == ["--xla_dump_to=/tmp/x --xla_gpu_enable_cudnn_layer_norm=true"]
