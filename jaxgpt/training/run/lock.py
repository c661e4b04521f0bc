"""One run per folder at a time: a run holds an exclusive lock on its out_dir for its whole life.

The lock is `fcntl.flock` on OUT_DIR/.jaxgpt-lock, which holds who took it (pid, host, since when).
The operating system releases it when the process ends, however it ends (a SIGKILL, a power cut of
the process), so a lock is never stale; the file left behind is only a note. A second run, a
resume or --move_old_run on a held folder stops before it writes anything and names the holder.
Readers (sample, eval, the explorer) take no lock: they read only complete, verified checkpoints.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import pathlib
import socket
import sys

from jaxgpt.errors import InputError

LOCK_FILE = ".jaxgpt-lock"


class FolderHeld(InputError):
    """Another process is training in the folder; the message names it."""


class RunLock:
    """The lock on one run folder, held from `acquire` until `release` (or the process's end)."""

    def __init__(self, folder):
        self.folder = pathlib.Path(folder)
        self._fd: int | None = None
        self._made: list[pathlib.Path] = []  # folders created to hold the lock, removed if left empty

    @property
    def path(self) -> pathlib.Path:
        return self.folder / LOCK_FILE

    def acquire(self, doing: str = "train") -> None:
        """Take the lock now, or raise FolderHeld naming the process that has it. The folder is
        created if it does not exist yet (and removed again by `release` if nothing was put in it)."""
        missing = []
        folder = self.folder.absolute()
        while not folder.exists():
            missing.append(folder)
            folder = folder.parent
        for folder in reversed(missing):
            try:
                folder.mkdir()
            except FileExistsError:  # another run made it a moment ago: the lock decides between us
                continue
            self._made.append(folder)
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except FileNotFoundError:  # a run that failed to start removed the folder it had made
                return self.acquire(doing)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _read_holder(fd)
                os.close(fd)
                self._remove_made_folders()
                raise FolderHeld(
                    f"--out_dir {self.folder} is in use by another run ({holder}): wait for it to end, "
                    f"or {doing} in another --out_dir"
                ) from None
            # the holder before us may have removed the file as we opened it: then lock the new one
            if _same_file(fd, self.path):
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        since = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
        note = {"pid": os.getpid(), "host": socket.gethostname(), "since": since, "command": " ".join(sys.argv)}
        os.write(fd, json.dumps(note).encode())
        self._fd = fd

    def moved_aside(self, aside) -> None:
        """The folder (our lock file in it) was just renamed to `aside` (--move_old_run): lock a new
        folder at the run's path, then drop the note left in the old run's folder."""
        old_fd, self._fd, self._made = self._fd, None, []
        self.acquire()
        if old_fd is not None:
            pathlib.Path(aside, LOCK_FILE).unlink(missing_ok=True)
            os.close(old_fd)

    def release(self) -> None:
        """Let go of the lock; the lock file goes (unlinked while still held, so no other process
        can have locked it), and so do folders `acquire` made that stayed empty."""
        if self._fd is None:
            return
        if _same_file(self._fd, self.path):
            self.path.unlink()
        os.close(self._fd)
        self._fd = None
        self._remove_made_folders()

    def _remove_made_folders(self) -> None:
        for folder in reversed(self._made):
            try:
                folder.rmdir()  # only if empty: a started run's folder stays
            except OSError:
                break
        self._made = []


def _same_file(fd: int, path: pathlib.Path) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except FileNotFoundError:
        return False


def _read_holder(fd: int) -> str:
    """'pid 123 on host since 2026-12-03T17:00:00+00:00' from the lock file, as far as it says."""
    try:
        note = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except (OSError, ValueError):
        note = {}
    if not isinstance(note, dict) or "pid" not in note:
        return "a process that is just starting"
    return f"pid {note['pid']} on {note.get('host', '?')} since {note.get('since', '?')}"
