"""Keeping orbax quiet: it logs every save and restore through absl, and a failed read or write
leaves asyncio tasks and coroutines whose errors Python prints at exit. Training prints its own
progress, and a checkpoint's problems reach the user as one line, from jaxgpt. Nothing changes on
import: `quiet_orbax()` is called when a checkpoint folder is opened."""

from __future__ import annotations

import logging
import sys
import traceback
import warnings


def _from_orbax(tb, *texts: str) -> bool:
    """Whether a traceback passed through orbax's (or tensorstore's) code, or the texts name them."""
    places = [frame.filename for frame in traceback.extract_tb(tb)] + [text[:2000].lower() for text in texts]
    return any(word in place for place in places for word in ("orbax", "tensorstore", "ocdbt", "zarr"))


class _QuietOrbax(logging.Filter):
    """orbax logs every save and restore through absl, and a failed save leaves asyncio tasks whose
    errors asyncio logs at exit; training prints its own progress, and a checkpoint's problems reach
    the user as one line, from jaxgpt."""

    def filter(self, record: logging.LogRecord) -> bool:
        tb = record.exc_info[2] if record.exc_info else None
        return not _from_orbax(tb, record.pathname, record.getMessage())


def _orbax_noise(unraisable) -> bool:
    """An error nobody can catch, left behind by a failed orbax read or write: a coroutine of orbax's
    collected with its exception, or tensorstore calling back into an event loop orbax has closed."""
    error = unraisable.exc_value
    closed_loop = isinstance(error, RuntimeError) and str(error) == "Event loop is closed"
    return closed_loop or _from_orbax(unraisable.exc_traceback, repr(unraisable.object))


def quiet_orbax() -> None:
    """Keep orbax's logs and its leftovers from a failed read or write off the user's screen."""
    for name in ("absl", "asyncio"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietOrbax) for f in logger.filters):
            logger.addFilter(_QuietOrbax())
    # orbax's writing coroutines, dropped unawaited when a save fails (a full disk)
    warnings.filterwarnings("ignore", r"coroutine '(async_serialize|_read_array_index)", RuntimeWarning)
    previous = sys.unraisablehook
    if getattr(previous, "keeps_orbax_quiet", False):
        return

    def hook(unraisable):
        if not _orbax_noise(unraisable):
            previous(unraisable)

    hook.keeps_orbax_quiet = True
    sys.unraisablehook = hook
