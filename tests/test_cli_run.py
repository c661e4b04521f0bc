"""jaxgpt/cli/run.py, which every script runs its main through: an error is one line and an exit
code, never a traceback, and XLA's fast GPU flags are on unless the user set them."""

import os
import subprocess
import sys

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


def test_exit_without_teardown_does_what_pythons_exit_does_before_its_teardown(tmp_path):
    # the threads that are not daemons finish, the exit handlers run, buffered output is flushed
    # (stdout is a pipe here: block-buffered), and the process ends with the code
    finished = tmp_path / "finished"
    program = f"""
import atexit, threading, time
from jaxgpt.cli.run import exit_without_teardown
atexit.register(lambda: print("exit handler ran"))
threading.Thread(target=lambda: (time.sleep(0.2), open({str(finished)!r}, "w").write("done"))).start()
print("buffered", end=" ")
exit_without_teardown(3)
print("never printed")
"""
    result = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (3, "buffered exit handler ran\n", "")
    assert finished.read_text() == "done"
