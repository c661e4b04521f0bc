"""Tokenizing a corpus's batches of pieces on worker processes, while the main process reads the
next batch: the way nanoGPT's prepare.py uses a pool (one process a core), with the reading,
decompressing and parsing overlapped. Threads would not do: a tokenizer call holds Python's lock
for most of a short document (measured: 2 threads no faster than one on paragraphs).

A batch is a list of pieces, (text, a separator goes before it, it ends its document); each worker
takes a contiguous share and returns the share's ids in the token files' dtype, separators in
place, with the count of ids after each document it ends."""

from __future__ import annotations

import collections
import itertools
import multiprocessing
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Iterator

import numpy as np

from jaxgpt.data.tokenizer import BPETokenizer
from jaxgpt.errors import DataError

Piece = tuple[str, bool, bool]  # (text, a separator goes before it, it ends its document)
Encoded = tuple[np.ndarray, list[int]]  # (ids, the count of ids after each document they end)

_worker: dict = {}  # the tokenizer and dtype of a worker process, set once as it starts


def encoded_batches(batches: Iterator[list[Piece]], encoder, dtype, num_proc: int) -> Iterator[Encoded]:
    """The ids of each batch's shares, in order. A corpus of one batch is tokenized in this
    process (nothing to start); a longer one by `num_proc` worker processes, with at most two
    batches in flight: the workers tokenize one while this process reads the next."""
    batches = iter(batches)
    first, second = next(batches, None), next(batches, None)
    if second is None:
        if first is not None:
            yield encode_share(encoder, dtype, first)
        return
    workers = ProcessPoolExecutor(
        num_proc,
        mp_context=multiprocessing.get_context("spawn"),  # not fork: train.py's process runs JAX's threads
        initializer=start_worker,
        initargs=(encoder, dtype),
    )
    in_flight = collections.deque()
    try:
        for batch in itertools.chain([first, second], batches):
            in_flight.append([workers.submit(encode_in_worker, share) for share in shares(batch, num_proc)])
            if len(in_flight) == 2:
                yield from results(in_flight.popleft())
        for futures in in_flight:
            yield from results(futures)
    finally:
        workers.shutdown(wait=True, cancel_futures=True)  # an error or Ctrl-C: the running shares finish first


def results(futures) -> Iterator[Encoded]:
    for future in futures:
        try:
            yield future.result()
        except BrokenProcessPool:
            raise DataError(
                "a tokenizing worker process stopped: out of memory (pass a smaller --num_proc), or a script that "
                'calls prepare_corpus without `if __name__ == "__main__":` (Python starts workers by importing it)'
            ) from None


def shares(batch: list[Piece], count: int) -> list[list[Piece]]:
    """`batch` in `count` contiguous shares of about as many characters each."""
    chars_N = np.cumsum([len(text) for text, _, _ in batch])
    bounds = [0, *np.searchsorted(chars_N, chars_N[-1] * np.arange(1, count) / count, side="right"), len(batch)]
    return [batch[start:end] for start, end in zip(bounds, bounds[1:]) if end > start]


def start_worker(encoder, dtype) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the main process's to handle: it stops the workers
    _worker.update(encoder=encoder, dtype=dtype)


def encode_in_worker(share: list[Piece]) -> Encoded:
    return encode_share(_worker["encoder"], _worker["dtype"], share)


def encode_share(encoder, dtype, share: list[Piece]) -> Encoded:
    """The share's ids in `dtype`, each piece's after the separator it asks for, and the count of
    ids after each piece that ends a document."""
    parts, document_ends, count, separator_S = [], [], 0, None
    for text, separate, ends_document in share:
        if separate:
            separator_S = separator(encoder) if separator_S is None else separator_S  # once, when needed
            parts.append(separator_S)
            count += len(separator_S)
        parts.append(encoder.encode(text))
        count += len(parts[-1])
        if ends_document:
            document_ends.append(count)
    ids_N = np.concatenate(parts, dtype=dtype, casting="unsafe") if parts else np.empty(0, dtype)
    return ids_N, document_ends


def separator(encoder) -> np.ndarray:
    """What goes between two documents: <|endoftext|>, or a newline for characters."""
    return np.array([encoder.encoding.eot_token]) if isinstance(encoder, BPETokenizer) else encoder.encode("\n")
