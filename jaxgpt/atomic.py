"""Files written whole or not at all: each is written beside its target under a temporary name,
then renamed over it (a rename is atomic on POSIX file systems), so a crash, Ctrl-C or a full disk
leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import pathlib
import tempfile


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path to write; it replaces `path` if the block succeeds, and is removed if not."""
    path = pathlib.Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        yield pathlib.Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_atomically(path, data: str | bytes) -> None:
    with atomic_path(path) as tmp:
        if isinstance(data, bytes):
            tmp.write_bytes(data)
        else:
            tmp.write_text(data)
