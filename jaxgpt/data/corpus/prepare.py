"""A corpus's files into train.bin, val.bin and meta.json, streamed: the documents are read in
pieces, tokenized a batch at a time (GPT-2's BPE on `num_proc` threads: tiktoken's encoder runs
outside Python's lock) and written as they come, so memory stays bounded by one batch whatever the
corpus size. Documents are separated by GPT-2's <|endoftext|> token, or by a newline with the
character tokenizer, whose vocabulary a first pass over the corpus collects."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import pathlib
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import numpy as np
from tqdm.auto import tqdm

from jaxgpt.data.corpus.formats import read_documents
from jaxgpt.data.corpus.inputs import corpus_files
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
    inputs: list[str],
    out_dir,
    tokenizer: str = "gpt2",
    text_field: str = "text",
    val_fraction: float = 0.1,
    num_proc: int | None = None,
    progress: bool = True,
) -> Prepared:
    """Tokenize the files `inputs` name (files, folders, globs) into `out_dir`, which must not
    hold prepared data yet; see the module's docstring."""
    start = time.perf_counter()
    files = corpus_files(inputs)
    folder = pathlib.Path(out_dir)
    existing = [name for name in Dataset.FILES if (folder / name).exists()]
    if existing:
        raise InputError(f"{out_dir} already holds prepared data ({', '.join(existing)}): choose another --out_dir")
    num_proc = num_proc or available_cores()
    encoder = BPETokenizer.gpt2() if tokenizer == "gpt2" else character_vocabulary(files, text_field, progress)
    with (
        new_or_existing_folder(folder),
        token_file(folder, token_dtype(encoder.vocab_size)) as tokens,
        ThreadPoolExecutor(num_proc) as threads,
        bytes_bar(files, progress, "tokenizing") as bar,
    ):
        for batch in batches(corpus_pieces(files, text_field, bar)):
            ids = encode(encoder, [text for text, _ in batch], threads, num_proc)
            tokens.append_pieces(ids, [ends_document for _, ends_document in batch], lambda: separator(encoder))
            seconds = time.perf_counter() - start
            bar.set_postfix(tokens=f"{tokens.count:,}", tokens_s=f"{tokens.count / seconds:,.0f}", refresh=False)
        if not tokens.count:
            raise DataError(f"{', '.join(inputs)} hold no text: choose files with text in them")
        split = tokens.split_at(val_fraction)
        tokens.finish(folder, split, meta_of(encoder, tokens.dtype))
        documents, total = len(tokens.document_ends), tokens.count
    return Prepared(
        folder, len(files), documents, split, total - split, encoder.vocab_size, time.perf_counter() - start
    )


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


def bytes_bar(files, progress: bool, description: str) -> tqdm:
    """A progress bar over the bytes of `files`."""
    total = sum(path.stat().st_size for path in files)
    return tqdm(total=total, unit="B", unit_scale=True, desc=description, disable=not progress)


def corpus_pieces(files, text_field: str, bar) -> Iterator[tuple[str, bool]]:
    """The pieces of the corpus's documents, (text, ends its document), in order; a document
    without text is left out. `bar` advances by the bytes read."""
    done_bytes, in_document = 0, False
    for path in files:
        for text, ends_document, position in read_documents(path, text_field):
            if text or in_document:  # an empty last piece still ends its document
                yield text, ends_document
                in_document = not ends_document
            bar.update(done_bytes + position - bar.n)
        done_bytes += path.stat().st_size


def batches(pieces: Iterator[tuple[str, bool]]) -> Iterator[list[tuple[str, bool]]]:
    """The pieces in batches of about BATCH_CHARS characters."""
    batch, chars = [], 0
    for text, ends_document in pieces:
        batch.append((text, ends_document))
        chars += len(text)
        if chars >= BATCH_CHARS:
            yield batch
            batch, chars = [], 0
    if batch:
        yield batch


def encode(encoder, texts: list[str], threads: ThreadPoolExecutor, num_proc: int) -> list[np.ndarray]:
    """Each text's ids. GPT-2's BPE runs on the threads, each taking one contiguous share of the
    texts: one task per thread, not per text (a task costs ~25 us, more than a short document).
    The ids become arrays there too, beside the other threads' encoding."""
    if not isinstance(encoder, BPETokenizer):
        return [encoder.encode(text) for text in texts]
    share = -(-len(texts) // num_proc)

    def encode_share(first: int) -> list[np.ndarray]:
        encode_one = encoder.encoding.encode
        return [np.asarray(encode_one(text, allowed_special="all"), np.int32) for text in texts[first : first + share]]

    return [ids for ids_of_share in threads.map(encode_share, range(0, len(texts), share)) for ids in ids_of_share]


def separator(encoder) -> np.ndarray:
    """What goes between two documents: <|endoftext|>, or a newline for characters."""
    return np.array([encoder.encoding.eot_token]) if isinstance(encoder, BPETokenizer) else encoder.encode("\n")


def character_vocabulary(files, text_field: str, progress: bool) -> CharTokenizer:
    """Every character of the corpus, in sorted order (deterministic), and the newline that
    separates documents when there are several: a first streaming pass."""
    chars, documents = set(), 0
    with bytes_bar(files, progress, "vocabulary") as bar:
        for text, ends_document in corpus_pieces(files, text_field, bar):
            chars.update(text)
            documents += ends_document
    if documents > 1:
        chars.add("\n")
    return CharTokenizer("".join(sorted(chars)))
