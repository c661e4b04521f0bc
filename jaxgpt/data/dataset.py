"""A tokenized text: the first 90% (train) and last 10% (val) as compact token arrays, saved as
nanoGPT's train.bin/val.bin/meta.json and memory-mapped back."""

from __future__ import annotations

import dataclasses
import json
import pathlib

import numpy as np

from jaxgpt.data.tokenizer import CharTokenizer, tokenizer_from_dict
from jaxgpt.errors import DataError


def token_dtype(vocab_size: int) -> np.dtype:
    """How train.bin and val.bin store ids: uint16 (2 bytes a token) when every id fits, else uint32."""
    return np.dtype(np.uint16 if vocab_size <= 2**16 else np.uint32)


def meta_of(tokenizer, dtype) -> dict:
    """meta.json beside the token files: the tokenizer and the ids' dtype (what `Dataset.load` reads)."""
    return {"tokenizer": tokenizer.to_dict(), "dtype": np.dtype(dtype).name}


@dataclasses.dataclass
class Dataset:
    """Token ids of the first 90% (train) and last 10% (val) of a text, as uint16 (2 bytes a token)."""

    train: np.ndarray
    val: np.ndarray
    tokenizer: object  # CharTokenizer or BPETokenizer

    FILES = ("train.bin", "val.bin", "meta.json")  # what `save` writes

    @classmethod
    def from_text(cls, text: str, tokenizer=None, val_fraction: float = 0.1) -> "Dataset":
        """Tokenize `text` (with a new CharTokenizer when none is given) and split it."""
        tokenizer = CharTokenizer.from_text(text) if tokenizer is None else tokenizer
        try:
            ids = tokenizer.encode(text)
        except ValueError as error:
            raise DataError(f"the data does not match the checkpoint's tokenizer: {error}") from None
        dtype = token_dtype(tokenizer.vocab_size)
        split = int(len(ids) * (1 - val_fraction))
        return cls(ids[:split].astype(dtype), ids[split:].astype(dtype), tokenizer)

    def save(self, folder) -> pathlib.Path:
        """train.bin and val.bin (raw token ids, as nanoGPT's prepare.py) and meta.json (the tokenizer)."""
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.train.tofile(folder / "train.bin")
        self.val.tofile(folder / "val.bin")
        (folder / "meta.json").write_text(json.dumps(meta_of(self.tokenizer, self.train.dtype)))
        return folder

    @classmethod
    def load(cls, folder) -> "Dataset":
        """A dataset written by `save` (scripts/prepare.py), memory-mapped rather than read."""
        folder = pathlib.Path(folder)
        if not (folder / "meta.json").is_file():
            raise DataError(f"{folder} has no meta.json: prepare it with scripts/prepare.py")
        try:
            meta = json.loads((folder / "meta.json").read_text())
            splits = [np.memmap(folder / f"{name}.bin", dtype=meta["dtype"], mode="r") for name in ("train", "val")]
            tokenizer = tokenizer_from_dict(meta["tokenizer"])
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise DataError(
                f"{folder} is not readable prepared data ({type(error).__name__}: {error}): prepare it again "
                "with scripts/prepare.py"
            ) from None
        return cls(*splits, tokenizer)

    def split(self, name: str) -> np.ndarray:
        return {"train": self.train, "val": self.val}[name]

    def check_block_size(self, block_size: int) -> None:
        """Both splits hold more than one window of `block_size` tokens."""
        for name in ("train", "val"):
            check_long_enough(self.split(name), block_size, name)


def check_long_enough(tokens: np.ndarray, block_size: int, split: str = "data") -> None:
    if len(tokens) <= block_size:
        raise DataError(
            f"the {split} split has {len(tokens)} tokens, too few for block_size={block_size}: "
            "use a longer text or a smaller --block_size"
        )
