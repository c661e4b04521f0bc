"""Token ids on disk as they are made: one temporary file grows while the corpus is read, and at
the end it becomes train.bin and val.bin (nanoGPT's raw little-endian ids) beside meta.json.
Memory holds one batch of ids at a time, whatever the corpus size.

The split: one document (a single text file) splits by tokens, the last `val_fraction` of them,
as `Dataset.from_text` does; several documents split by documents, the last ones (a fraction, or
a count from 1 up), so no document is cut in two. The validation ids are copied out of the end of
the file in slices and the file is cut back to the training ids; nothing is loaded whole."""

from __future__ import annotations

import array
import contextlib
import json
import os
import pathlib

import numpy as np

from jaxgpt.atomic import atomic_path
from jaxgpt.errors import DataError

COPY_BYTES = 1 << 24  # a slice of the validation ids as they are copied out


class TokenFile:
    """Ids appended to `path` in `dtype`, with the running count at the end of each document."""

    def __init__(self, path: pathlib.Path, dtype: np.dtype):
        self.path, self.dtype = pathlib.Path(path), np.dtype(dtype)
        self.file = open(self.path, "wb")
        self.count = 0
        self.document_ends = array.array("q")  # the ids' count after each document: 8 bytes a document

    def append(self, ids_N: np.ndarray, document_ends: list[int]) -> None:
        """Ids in this file's dtype, and their counts (from the first of them) after each document
        they end."""
        self.file.write(memoryview(np.ascontiguousarray(ids_N, self.dtype)))
        self.document_ends.extend(self.count + count for count in document_ends)
        self.count += len(ids_N)

    def close(self) -> None:
        self.file.close()

    def split_at(self, val_fraction: float) -> int:
        """Where the validation ids start (see the module's docstring); a split that leaves either
        side empty is an error that says what to change."""
        documents = len(self.document_ends)
        if documents <= 1:
            if val_fraction >= 1:
                raise DataError(
                    f"--val_fraction {val_fraction:g} counts documents, but the corpus is one document: "
                    "give a fraction below 1 (it splits by tokens)"
                )
            split = int(self.count * (1 - val_fraction))
        else:
            held_out = int(val_fraction) if val_fraction >= 1 else round(documents * val_fraction)
            if not 0 < held_out < documents:
                raise DataError(
                    f"--val_fraction {val_fraction:g} holds out {held_out} of {documents} documents: "
                    "choose a fraction or count that leaves documents on both sides"
                )
            split = self.document_ends[-held_out - 1]
        if not 0 < split < self.count:
            raise DataError(
                f"{self.count} tokens split at {split} leave an empty side: use more text or another --val_fraction"
            )
        return split

    def finish(self, folder: pathlib.Path, split: int, meta: dict) -> None:
        """train.bin, val.bin and then meta.json in `folder`, each renamed into place when whole: a
        crash leaves no meta.json, so nothing half-made is ever read as prepared data."""
        self.close()  # every id written out before they are read back
        with open(self.path, "rb") as ids, atomic_path(folder / "val.bin") as val_path, open(val_path, "wb") as val:
            ids.seek(split * self.dtype.itemsize)
            while chunk := ids.read(COPY_BYTES):
                val.write(chunk)
        os.truncate(self.path, split * self.dtype.itemsize)
        os.replace(self.path, folder / "train.bin")
        with atomic_path(folder / "meta.json") as meta_path:
            meta_path.write_text(json.dumps(meta))


@contextlib.contextmanager
def token_file(folder: pathlib.Path, dtype: np.dtype):
    """A TokenFile in `folder` under a hidden name, removed if the block fails (or is interrupted)."""
    file = TokenFile(folder / ".tokens.partial", dtype)
    try:
        yield file
    finally:
        file.close()
        file.path.unlink(missing_ok=True)
