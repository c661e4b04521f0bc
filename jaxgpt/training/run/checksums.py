"""Checksums of a checkpoint: the size and SHA-256 of every file orbax wrote, recorded in
`jaxgpt-checksums.json` before the checkpoint folder is committed, and checked before any file is
read back, so a deleted, truncated or changed file (a flipped bit included) is found, never loaded."""

from __future__ import annotations

import hashlib
import json
import pathlib

MANIFEST = "jaxgpt-checksums.json"
# orbax's own record of the save (its timestamps), rewritten after the checksums are taken; restoring
# does not need it, so a damaged one only gets a warning
ORBAX_RECORD = "_CHECKPOINT_METADATA"
# the format of the checkpoints this version writes: 2 adds the checksum file
FORMAT = 2


class DamagedCheckpoint(Exception):
    """One checkpoint cannot be used; the message says which file and how."""


def _sha256(path: pathlib.Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_manifest(folder: pathlib.Path) -> None:
    """Record the size and SHA-256 of every file under `folder` in its checksum file."""
    files = {
        path.relative_to(folder).as_posix(): {"bytes": path.stat().st_size, "sha256": _sha256(path)}
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in (MANIFEST, ORBAX_RECORD)
    }
    (folder / MANIFEST).write_text(json.dumps({"format": FORMAT, "files": files}, indent=1))


def check_manifest(folder: pathlib.Path) -> bool:
    """True when every file the checksum file lists is there, whole and unchanged; False when the
    folder has no checksum file (written before jaxgpt kept them). Raises DamagedCheckpoint."""
    path = folder / MANIFEST
    if not path.exists():
        return False
    try:
        files = json.loads(path.read_text())["files"]
        expected = {name: (int(entry["bytes"]), str(entry["sha256"])) for name, entry in files.items()}
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError):
        raise DamagedCheckpoint(f"its {MANIFEST} is not readable") from None
    for name, (size, sha256) in expected.items():
        file = folder / name
        if not file.is_file():
            raise DamagedCheckpoint(f"{name} is missing")
        if file.stat().st_size != size:
            raise DamagedCheckpoint(f"{name} has {file.stat().st_size} bytes instead of {size}")
        if _sha256(file) != sha256:
            raise DamagedCheckpoint(f"{name} differs from its checksum")
    return True
