"""Text data: tiny Shakespeare (downloaded once, checked, cached) or any local text file,
a 90/10 train/val split stored as compact token arrays, and a seeded random-window sampler."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pathlib
import urllib.error
import urllib.request

import numpy as np

from jaxgpt.atomic import write_atomically
from jaxgpt.errors import JaxgptError, reported_os_errors
from jaxgpt.training.tokenizer import CharTokenizer, tokenizer_from_dict

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_BYTES = 1_115_394
CACHE_ENV = "JAXGPT_CACHE_DIR"
# tiny Shakespeare by characters (nanoGPT's shakespeare_char) or by GPT-2 BPE tokens (its shakespeare)
DATASETS = ("shakespeare_char", "shakespeare")


class DataError(JaxgptError):
    """A problem with the user's data, stated in one line that says what to do."""


def cache_dir() -> pathlib.Path:
    """Where downloads are kept: $JAXGPT_CACHE_DIR, else ~/.cache/jaxgpt."""
    return pathlib.Path(os.environ.get(CACHE_ENV) or pathlib.Path.home() / ".cache" / "jaxgpt")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def download_shakespeare(url: str = SHAKESPEARE_URL, directory: pathlib.Path | None = None) -> pathlib.Path:
    """Path of a verified local copy of tiny Shakespeare, downloading it on first use."""
    directory = cache_dir() if directory is None else pathlib.Path(directory)
    path = directory / "tinyshakespeare.txt"
    if path.exists() and _sha256(path.read_bytes()) == SHAKESPEARE_SHA256:
        return path
    try:
        with urllib.request.urlopen(url, timeout=60) as response:
            data = response.read()
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise DataError(
            f"could not download tiny Shakespeare from {url} ({reason}): connect to the internet, "
            f"put a copy at {path}, or pass --data_file PATH"
        ) from None
    if _sha256(data) != SHAKESPEARE_SHA256:
        raise DataError(
            f"the file from {url} is not tiny Shakespeare ({len(data):,} bytes, SHA-256 {_sha256(data)[:16]}…; "
            f"expected {SHAKESPEARE_BYTES:,} bytes, {SHAKESPEARE_SHA256[:16]}…): retry, or pass --data_file PATH"
        )
    with reported_os_errors(f"keep the download in {directory}", f"make it writable or set {CACHE_ENV}"):
        directory.mkdir(parents=True, exist_ok=True)
        write_atomically(path, data)  # a crash never leaves a half-written cache file
    return path


def check_data_file(data_file) -> pathlib.Path:
    path = pathlib.Path(data_file)
    if not path.is_file():
        raise DataError(f"data file {data_file} does not exist: pass --data_file PATH to a text file")
    return path


def load_text(dataset: str = "shakespeare_char", data_file: str | None = None) -> str:
    """The training text: `data_file` if given, else the named dataset."""
    if data_file is not None:
        path = check_data_file(data_file)
        try:
            with reported_os_errors(f"read data file {data_file}", "check its permissions or choose another file"):
                text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise DataError(f"data file {data_file} is not UTF-8 text: convert it or choose another file") from None
    elif dataset in DATASETS:
        text = download_shakespeare().read_text(encoding="utf-8")
    else:
        raise DataError(f"unknown dataset {dataset!r}: known datasets are {', '.join(DATASETS)}, or pass --data_file")
    if not text:
        raise DataError(f"data file {data_file} is empty: choose a file with text in it")
    return text


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
        dtype = np.uint16 if tokenizer.vocab_size <= 2**16 else np.uint32
        split = int(len(ids) * (1 - val_fraction))
        return cls(ids[:split].astype(dtype), ids[split:].astype(dtype), tokenizer)

    def save(self, folder) -> pathlib.Path:
        """train.bin and val.bin (raw token ids, as nanoGPT's prepare.py) and meta.json (the tokenizer)."""
        folder = pathlib.Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        self.train.tofile(folder / "train.bin")
        self.val.tofile(folder / "val.bin")
        meta = {"tokenizer": self.tokenizer.to_dict(), "dtype": self.train.dtype.name}
        (folder / "meta.json").write_text(json.dumps(meta))
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


class SeededSampler:
    """A sampler driven by one seeded NumPy generator, whose `state` is saved in checkpoints so a
    resumed run draws exactly the batches the uninterrupted run would have drawn."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)

    @property
    def state(self) -> dict:
        return self.rng.bit_generator.state

    @state.setter
    def state(self, value: dict) -> None:
        self.rng.bit_generator.state = value


class BatchSampler(SeededSampler):
    """Random windows of a token array: inputs x [..., T] and targets y = x shifted by one."""

    def __init__(self, tokens: np.ndarray, block_size: int, seed: int):
        check_long_enough(tokens, block_size)
        super().__init__(seed)
        self.tokens = tokens
        self.block_size = block_size

    def sample(self, *batch_shape: int):
        """x, y of shape [*batch_shape, T], int32."""
        starts = self.rng.integers(0, len(self.tokens) - self.block_size, size=batch_shape)
        offsets_T = np.arange(self.block_size)
        x = self.tokens[starts[..., None] + offsets_T].astype(np.int32)
        y = self.tokens[starts[..., None] + offsets_T + 1].astype(np.int32)
        return x, y
