"""Where training data comes from, and the one place that decides what --dataset and --data_file
mean: `SOURCES`, a table of the kinds of data (a corpus given by --data_file, tiny Shakespeare, a
folder made by scripts/prepare.py). Adding a kind is one entry here and its test."""

from __future__ import annotations

import hashlib
import pathlib
import urllib.error
import urllib.request

from jaxgpt.atomic import write_atomically
from jaxgpt.data.cache import CACHE_ENV, cache_dir
from jaxgpt.data.corpus.cached import prepared_copy, read_whole
from jaxgpt.data.corpus.inputs import corpus_files
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.tokenizer import BPETokenizer
from jaxgpt.errors import DataError, reported_os_errors

SHAKESPEARE_URL = "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt"
SHAKESPEARE_SHA256 = "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"
SHAKESPEARE_BYTES = 1_115_394
# tiny Shakespeare by characters (nanoGPT's shakespeare_char) or by GPT-2 BPE tokens (its shakespeare)
DATASETS = ("shakespeare_char", "shakespeare")


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


def _corpus(dataset: str, data_file: str | None, tokenizer, text_field: str, echo) -> Dataset:
    """One small text file in memory, as always; anything bigger or more through a prepared copy."""
    files = corpus_files([data_file])
    if read_whole(files):
        return Dataset.from_text(load_text(data_file=data_file), tokenizer)
    return Dataset.load(prepared_copy(files, "char" if tokenizer is None else tokenizer, text_field, echo))


def _shakespeare(dataset: str, data_file: str | None, tokenizer, text_field: str, echo) -> Dataset:
    if tokenizer is None and dataset == "shakespeare":
        tokenizer = BPETokenizer.gpt2()
    return Dataset.from_text(load_text(dataset), tokenizer)


def _prepared_folder(dataset: str, data_file: str | None, tokenizer, text_field: str, echo) -> Dataset:
    return Dataset.load(dataset)


# each kind of data: (does (dataset, data_file) name it?, load(dataset, data_file, tokenizer, text_field, echo)
# -> Dataset); the first kind that claims the flags loads them
SOURCES = {
    "a corpus (--data_file)": (lambda dataset, data_file: data_file is not None, _corpus),
    "tiny Shakespeare": (lambda dataset, data_file: dataset in DATASETS, _shakespeare),
    "a prepared folder": (lambda dataset, data_file: pathlib.Path(dataset).is_dir(), _prepared_folder),
}


def source_of(dataset: str, data_file: str | None = None) -> str:
    """Which of `SOURCES` the flags name; a one-line error when none (checked before anything loads)."""
    if data_file is not None:
        corpus_files([data_file])  # a one-line error for a path that is missing or holds no text
    for name, (claims, _) in SOURCES.items():
        if claims(dataset, data_file):
            return name
    raise DataError(
        f"dataset={dataset!r} is not one of {', '.join(DATASETS)} nor a folder made by scripts/prepare.py; "
        "or pass --data_file"
    )


def load_dataset(
    dataset: str, data_file: str | None = None, tokenizer=None, text_field: str = "text", echo=print
) -> Dataset:
    """The training data the flags name, tokenized by `tokenizer` (by default: GPT-2 BPE for the
    "shakespeare" dataset, characters for a corpus; a prepared folder has its own). `text_field`:
    the field of a .jsonl corpus's text; `echo` says where a corpus's prepared copy is."""
    _, load = SOURCES[source_of(dataset, data_file)]
    return load(dataset, data_file, tokenizer, text_field, echo)
