"""Seeded batch samplers: random windows of a token array, with a state that checkpoints save so a
resumed run draws exactly the batches the uninterrupted run would have.

A token file on disk (a prepared folder's memory map) is read window by window with `os.pread`, not
through its map: pages touched through one map stay in the process's resident memory for as long
as the map lives, so a run over a corpus larger than memory would grow toward the corpus's size
(nanoGPT's issue #287). Read, the pages stay in the system's page cache, which it can reclaim."""

from __future__ import annotations

import os

import numpy as np

from jaxgpt.data.dataset import check_long_enough


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

    def peek(self, *batch_shape: int):
        """The batch `sample(*batch_shape)` would draw next, left undrawn: the next sample is the same."""
        kept = self.state
        batch = self.sample(*batch_shape)
        self.state = kept
        return batch


class BatchSampler(SeededSampler):
    """Random windows of a token array: inputs x [..., T] and targets y = x shifted by one."""

    def __init__(self, tokens: np.ndarray, block_size: int, seed: int):
        check_long_enough(tokens, block_size)
        super().__init__(seed)
        self.tokens = tokens
        self.block_size = block_size
        self.file = token_file_of(tokens)

    def sample(self, *batch_shape: int):
        """x, y of shape [*batch_shape, T], int32."""
        starts = self.rng.integers(0, len(self.tokens) - self.block_size, size=batch_shape)
        windows_NxT1 = self.windows(starts.reshape(-1), self.block_size + 1)
        windows = windows_NxT1.reshape(*batch_shape, self.block_size + 1)
        return windows[..., :-1].astype(np.int32), windows[..., 1:].astype(np.int32)

    def windows(self, starts_N: np.ndarray, length: int) -> np.ndarray:
        """The tokens [starts_N[i], starts_N[i] + length) of each start: [N, length]."""
        if self.file is None:
            return self.tokens[starts_N[:, None] + np.arange(length)]
        itemsize = self.tokens.dtype.itemsize
        descriptor, offset = self.file.fileno(), self.tokens.offset
        read = b"".join(
            os.pread(descriptor, length * itemsize, offset + start * itemsize) for start in starts_N.tolist()
        )
        return np.frombuffer(read, self.tokens.dtype).reshape(len(starts_N), length)


def token_file_of(tokens: np.ndarray):
    """An open file of the tokens when they are a memory map of a whole token file (what
    `Dataset.load` gives) and this system has `os.pread`; None for arrays in memory, which are
    indexed. A slice of a map keeps its file's name but not its own offset, so only a map whose
    size is the file's own is read from the file."""
    if not (isinstance(tokens, np.memmap) and tokens.filename and hasattr(os, "pread")):
        return None
    file_bytes = os.path.getsize(tokens.filename) - tokens.offset
    if not (tokens.ndim == 1 and tokens.flags.c_contiguous and tokens.nbytes == file_bytes):
        return None
    return open(tokens.filename, "rb", buffering=0)
