"""Errors for people: every problem a user can fix is a `JaxgptError` whose message names the value,
the rule and the fix. The scripts print such an error as one line and exit non-zero; anything else
(a bug) keeps its traceback."""

from __future__ import annotations

import contextlib
import errno


class JaxgptError(Exception):
    """A problem the user can fix, said in one line."""


class DeviceError(JaxgptError):
    """The accelerator failed: out of its memory, or lost; the message is the runtime's first line."""


class InputError(JaxgptError, ValueError):
    """A value, flag or setting that cannot be used (also a ValueError, as Python code expects)."""


class DataError(JaxgptError):
    """A problem with the user's data, stated in one line that says what to do."""


class TrainingError(JaxgptError):
    """Training cannot go on (a NaN loss, a failed device); the message says what is kept and what to try."""


def check_int(name: str, value, minimum: int = 1) -> None:
    """`value` is an int (not a bool) >= `minimum`, else InputError naming it."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        rule = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise InputError(f"{name}={value!r} must be {rule}")


def is_disk_full(error: BaseException) -> bool:
    """A full disk or quota, as the OS says it (or tensorstore, in orbax's messages)."""
    text = str(error)
    return (
        getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT)
        or "No space left" in text
        or ("os_error_code='28'" in text)
    )


@contextlib.contextmanager
def reported_os_errors(what: str, fix: str):
    """An OSError in the block becomes a one-line JaxgptError naming its real cause: "could not
    `what` (the system's reason): `fix`", with "free some disk space" first only when the disk is full."""
    try:
        yield
    except OSError as error:
        if is_disk_full(error):
            fix = f"free some disk space, then {fix}"
        raise JaxgptError(f"could not {what} ({error.strerror or error}): {fix}") from error


@contextlib.contextmanager
def reported_device_errors():
    """A failure of the device in the block (JAX's runtime: out of memory, a lost device) becomes a
    one-line DeviceError; the traceback stays on the exception for JAXGPT_DEBUG=1."""
    import jax  # the foundation needs jax for this alone

    try:
        yield
    except jax.errors.JaxRuntimeError as error:
        raise DeviceError(f"{str(error).splitlines()[0]} (JAXGPT_DEBUG=1 shows the traceback)") from error
