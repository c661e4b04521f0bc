"""A corpus's files into train.bin, val.bin and meta.json, streamed: the documents are read in
pieces, tokenized a batch at a time (on `num_proc` worker processes, encode.py) and written as
they come, so memory stays bounded by two batches whatever the corpus size. Documents are
separated by GPT-2's <|endoftext|> token, or by a newline with the character tokenizer, whose
vocabulary a first pass over the corpus collects."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import time
from typing import Iterator

from jaxgpt.data.corpus.encode import Piece, encoded_batches
from jaxgpt.data.corpus.hub import HubDataset
from jaxgpt.data.corpus.inputs import CorpusFiles, corpus_files
from jaxgpt.data.corpus.token_files import token_file
from jaxgpt.data.dataset import Dataset, meta_of, token_dtype
from jaxgpt.data.tokenizer import BPETokenizer, CharTokenizer
from jaxgpt.errors import DataError, InputError

BATCH_CHARS = 1 << 23  # characters tokenized at once (~8 M): the bound on memory, with their ids


@dataclasses.dataclass(frozen=True)
class Prepared:
    folder: pathlib.Path
    files: int
    documents: int
    train_tokens: int
    val_tokens: int
    vocab_size: int
    seconds: float


def prepare_corpus(
    inputs: list[str] | HubDataset,
    out_dir,
    tokenizer="gpt2",
    text_field: str = "text",
    val_fraction: float = 0.1,
    num_proc: int | None = None,
    progress: bool = True,
) -> Prepared:
    """Tokenize the files `inputs` name (files, folders, globs), or a `HubDataset`, into `out_dir`,
    which must not hold prepared data yet, with `tokenizer`: "gpt2" (GPT-2's BPE), "char" (the
    corpus's own characters) or a tokenizer (a checkpoint's); see the module's docstring."""
    start = time.perf_counter()
    corpus = inputs if isinstance(inputs, HubDataset) else CorpusFiles(corpus_files(inputs))
    folder = pathlib.Path(out_dir)
    existing = [name for name in Dataset.FILES if (folder / name).exists()]
    if existing:
        raise InputError(f"{out_dir} already holds prepared data ({', '.join(existing)}): choose another --out_dir")
    num_proc = num_proc or available_cores()
    encoder = encoder_of(tokenizer, corpus, text_field, progress)
    dtype = token_dtype(encoder.vocab_size)
    with (
        new_or_existing_folder(folder),
        token_file(folder, dtype) as tokens,
        corpus.bar(progress, "tokenizing") as bar,
    ):
        pieces = with_separators(corpus.pieces(text_field, bar))
        for ids_N, document_ends in encoded_batches(batches(pieces), encoder, dtype, num_proc):
            tokens.append(ids_N, document_ends)
            seconds = time.perf_counter() - start
            bar.set_postfix(tokens=f"{tokens.count:,}", tokens_s=f"{tokens.count / seconds:,.0f}", refresh=False)
        if not tokens.count:
            named = inputs if isinstance(inputs, HubDataset) else ", ".join(inputs)
            raise DataError(f"{named} hold no text: choose files with text in them")
        split = tokens.split_at(val_fraction)
        tokens.finish(folder, split, meta_of(encoder, tokens.dtype))
        documents, total = len(tokens.document_ends), tokens.count
    return Prepared(
        folder, len(corpus.files), documents, split, total - split, encoder.vocab_size, time.perf_counter() - start
    )


def encoder_of(tokenizer, corpus, text_field: str, progress: bool):
    """GPT-2's BPE for "gpt2", the corpus's characters for "char" (a first pass), else `tokenizer`."""
    if tokenizer == "gpt2":
        return BPETokenizer.gpt2()
    if tokenizer == "char":
        return character_vocabulary(corpus, text_field, progress)
    return tokenizer


def available_cores() -> int:
    """The cores this process may run on (all of the machine's where the system cannot say)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@contextlib.contextmanager
def new_or_existing_folder(folder: pathlib.Path):
    """`folder`, made if it is missing, and removed again if the block fails while it is still empty."""
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    except BaseException:
        if made and not any(folder.iterdir()):
            folder.rmdir()
        raise


def with_separators(pieces: Iterator[tuple[str, bool]]) -> Iterator[Piece]:
    """Each piece as (text, a separator goes before it, it ends its document): the separator goes
    before every document but the first."""
    starts_document, first = True, True
    for text, ends_document in pieces:
        yield text, starts_document and not first, ends_document
        starts_document, first = ends_document, False


def batches(pieces: Iterator[Piece]) -> Iterator[list[Piece]]:
    """The pieces in batches of about BATCH_CHARS characters."""
    batch, chars = [], 0
    for piece in pieces:
        batch.append(piece)
        chars += len(piece[0])
        if chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def character_vocabulary(corpus, text_field: str, progress: bool) -> CharTokenizer:
    """Every character of the corpus, in sorted order (deterministic), and the newline that
    separates documents when there are several: a first streaming pass."""
    chars, documents = set(), 0
    with corpus.bar(progress, "vocabulary") as bar:
        for text, ends_document in corpus.pieces(text_field, bar):
            chars.update(text)
            documents += ends_document
    if documents > 1:
        chars.add("\n")
    return CharTokenizer("".join(sorted(chars)))
