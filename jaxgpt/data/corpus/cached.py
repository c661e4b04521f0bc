"""train.py --data_file beyond one small text file: the corpus is prepared once, streamed as
scripts/prepare.py does, into the cache folder, and memory-mapped by every later run, so nobody
waits for a big corpus to be tokenized at every start. The copy's name is a hash of the files
(their paths, sizes and modification times), the tokenizer and the text field: a changed file
is prepared again, an unchanged one never is.

Two runs may prepare the same corpus at once: each prepares into its own hidden folder and renames
it into place; the second rename finds the first's copy and keeps it."""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import shutil
import tempfile

from jaxgpt.data.cache import CACHE_ENV, cache_dir
from jaxgpt.data.corpus.formats import split_suffixes
from jaxgpt.data.corpus.prepare import prepare_corpus
from jaxgpt.errors import reported_os_errors

IN_MEMORY_BYTES = 64 << 20  # one plain text file up to 64 MB is tokenized in memory at each start (~2 s)
CACHE_VERSION = 1  # part of every copy's key: a change to the token files' layout makes new copies


def read_whole(files: list[pathlib.Path]) -> bool:
    """True for one plain, uncompressed text file of at most IN_MEMORY_BYTES, read as it always was."""
    return (
        len(files) == 1
        and split_suffixes(files[0]) in [("text", None), (None, None)]
        and (files[0].stat().st_size <= IN_MEMORY_BYTES)
    )


def cache_key(files: list[pathlib.Path], tokenizer, text_field: str) -> str:
    """A hash of what the prepared copy depends on; `tokenizer` is "char" (the corpus's own
    characters) or a tokenizer (a checkpoint's, or GPT-2's BPE)."""
    stats = [path.stat() for path in files]
    described = {
        "version": CACHE_VERSION,
        "files": [[str(path), stat.st_size, stat.st_mtime_ns] for path, stat in zip(files, stats)],
        "tokenizer": tokenizer if isinstance(tokenizer, str) else tokenizer.to_dict(),
        "text_field": text_field,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:24]


def prepared_copy(files: list[pathlib.Path], tokenizer, text_field: str, echo=print) -> pathlib.Path:
    """The folder of token files of `files` in the cache, prepared now if it is not there yet."""
    corpora = cache_dir() / "corpora"
    folder = corpora / cache_key(files, tokenizer, text_field)
    if (folder / "meta.json").is_file():
        echo(f"using the prepared copy of --data_file in {folder}")
        return folder
    echo(f"preparing --data_file once into {folder} (set {CACHE_ENV} to keep it elsewhere)")
    with reported_os_errors(f"prepare --data_file into {corpora}", f"free some space there or set {CACHE_ENV}"):
        corpora.mkdir(parents=True, exist_ok=True)
        work = pathlib.Path(tempfile.mkdtemp(prefix=".preparing-", dir=corpora))
        try:
            prepared = prepare_corpus([str(path) for path in files], work / "data", tokenizer, text_field)
            try:
                os.rename(work / "data", folder)
            except OSError:
                if not (folder / "meta.json").is_file():  # not another run's finished copy
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
    echo(
        f"prepared {prepared.train_tokens + prepared.val_tokens:,} tokens of {prepared.documents:,} document(s) in "
        f"{prepared.seconds:.1f} s; later runs on the same files start from this copy"
    )
    return folder
