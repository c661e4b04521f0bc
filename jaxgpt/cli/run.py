"""Running a script: the process-wide settings a command makes (JAX's compilation cache), and its
errors, a line each: a `JaxgptError` (a problem the user can fix) prints one line and exits non-zero
without a traceback; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import os
import pathlib
import sys

import jax

from jaxgpt.errors import DeviceError, JaxgptError, reported_device_errors
from jaxgpt.training.data import cache_dir
from jaxgpt.training.interrupt import TrainingInterrupted
from jaxgpt.training.loop import TrainingError


def use_compilation_cache(enabled: bool) -> None:
    """Turn on JAX's persistent compilation cache in the jaxgpt cache folder, unless it is off or
    already pointed somewhere (JAX_COMPILATION_CACHE_DIR or the user's own jax.config)."""
    if enabled and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jit"))


def run(main) -> None:
    """Run a script's main: known problems print one line and exit non-zero, without a traceback
    (set JAXGPT_DEBUG=1 to see one): 2 for bad input or a folder that cannot be used, 1 when
    training has to stop (a NaN) or the device fails, 130 / 143 after Ctrl-C / SIGTERM."""
    script = pathlib.Path(sys.argv[0]).name
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
    sys.exit(code)
