"""Running a script: the process-wide settings a command makes (JAX's compilation cache, XLA's
flags for faster GPU kernels), its errors, a line each (a `JaxgptError`, a problem the user can
fix, prints one line and exits non-zero without a traceback; anything else is a bug and keeps its
traceback), and its exit, without the interpreter's slow teardown."""

from __future__ import annotations

import argparse
import atexit
import os
import pathlib
import sys
import threading

from jaxgpt.data.cache import cache_dir
from jaxgpt.errors import DeviceError, JaxgptError, TrainingError, reported_device_errors
from jaxgpt.training.interrupt import TrainingInterrupted


class OneLineErrorParser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def use_compilation_cache(enabled: bool) -> None:
    """Turn on JAX's persistent compilation cache in the jaxgpt cache folder, unless it is off or
    already pointed somewhere (JAX_COMPILATION_CACHE_DIR or the user's own jax.config). Every
    compilation is kept, not only those over JAX's default second: a run compiles ~30 small
    functions (initialisation, the evaluation step, the checks before a save), ~0.1-0.3 s each on
    a CPU, that a re-run would otherwise compile again."""
    import jax  # here: scripts that never compile (prepare.py) start without it

    if enabled and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jit"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)


# XLA flags every script turns on unless XLA_FLAGS already sets them; each was measured faster.
# cuDNN's LayerNorm kernels, forward and backward, instead of XLA's reductions: GPT-2 124M's bfloat16
# train step 34.1 -> 32.8 ms on an H200 (docs/benchmarks/h200-2026-11-28b). Only GPUs read it.
FAST_XLA_FLAGS = {"--xla_gpu_enable_cudnn_layer_norm": "true"}


def add_fast_xla_flags(environ=os.environ) -> None:
    """Append FAST_XLA_FLAGS to XLA_FLAGS, except those the user set (to true or false) already.
    XLA reads the variable when JAX first uses a device, so a script's start is in time."""
    flags = environ.get("XLA_FLAGS", "")
    for name, value in FAST_XLA_FLAGS.items():
        if name not in flags:
            flags = f"{flags} {name}={value}".strip()
    environ["XLA_FLAGS"] = flags


def exit_without_teardown(code: int) -> None:
    """End the process with `code` as Python's own exit would, less its last step. Python waits for
    the threads that are not daemons, runs the exit handlers (JAX's, orbax's, logging's ...) and
    flushes the standard streams; then it tears the interpreter down, freeing every module and
    object one by one, which takes 0.3-0.7 s once JAX, orbax and TensorBoard are loaded, more on a
    GPU (a one-iteration train.py, warm: 4.58 -> 3.90 s on a 2-core CPU, 1.4-1.8 s less on an H200;
    docs/benchmarks/*-2026-12-04b). The operating system frees all of that at once, so that step
    is skipped. Nothing is lost: jaxgpt closes every file it writes
    (checkpoints waited for, the writers' thread joined) before its main returns."""
    for thread in threading.enumerate():
        if thread is not threading.current_thread() and not thread.daemon:
            thread.join()
    run_exit_handlers = getattr(atexit, "_run_exitfuncs", None)  # CPython's own, run once: they are then cleared
    if run_exit_handlers is None or sys.flags.interactive:  # another Python, or `python -i`: the usual exit
        sys.exit(code)
    run_exit_handlers()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run(main, skip_teardown: bool = False) -> None:
    """Run a script's main: known problems print one line and exit non-zero, without a traceback
    (set JAXGPT_DEBUG=1 to see one): 2 for bad input or a folder that cannot be used, 1 when
    training has to stop (a NaN) or the device fails, 130 / 143 after Ctrl-C / SIGTERM.
    `skip_teardown` (the scripts): exit through `exit_without_teardown`, not SystemExit; a caller
    that goes on afterwards (a test) leaves it off."""
    script = pathlib.Path(sys.argv[0]).name
    add_fast_xla_flags()
    try:
        with reported_device_errors():  # out of device memory, a device lost: anywhere, not only in training
            code = main(sys.argv[1:])
    except TrainingInterrupted as stop:
        print(f"{script}: {stop}", file=sys.stderr)
        code = stop.exit_code
    except KeyboardInterrupt:
        print(f"{script}: interrupted", file=sys.stderr)
        code = 130
    except JaxgptError as error:
        if os.environ.get("JAXGPT_DEBUG"):
            raise
        print(f"{script}: error: {error}", file=sys.stderr)
        code = 1 if isinstance(error, (TrainingError, DeviceError)) else 2
    if skip_teardown and isinstance(code, int):  # main may return None (0) or a message (sys.exit's)
        exit_without_teardown(code)
    sys.exit(code)
