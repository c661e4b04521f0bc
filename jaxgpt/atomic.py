"""Files written whole or not at all: each is written beside its target under a temporary name,
then renamed over it (a rename is atomic on POSIX file systems), so a crash, Ctrl-C or a full disk
leaves the old file or the new one, never half of one."""

from __future__ import annotations

import contextlib
import os
import pathlib
import secrets


@contextlib.contextmanager
def atomic_path(path):
    """Yields a temporary path to write; it replaces `path` if the block succeeds, and is removed if not."""
    path = pathlib.Path(path)
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}{path.suffix}"
    # created as open() creates files (mode 0o666 less the umask), not mkstemp's owner-only 0o600
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
    try:
        yield tmp
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
