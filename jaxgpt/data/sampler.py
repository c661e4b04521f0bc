"""Seeded batch samplers: random windows of a token array, with a state that checkpoints save so a
resumed run draws exactly the batches the uninterrupted run would have."""

from __future__ import annotations

import mmap

import numpy as np

from jaxgpt.data.dataset import check_long_enough

REMAP_EVERY = 64  # batches read through one map of a token file


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
        self._batches_from_map = 0

    def sample(self, *batch_shape: int):
        """x, y of shape [*batch_shape, T], int32."""
        starts = self.rng.integers(0, len(self.tokens) - self.block_size, size=batch_shape)
        offsets_T = np.arange(self.block_size)
        tokens = self.mapped_tokens()
        x = tokens[starts[..., None] + offsets_T].astype(np.int32)
        y = tokens[starts[..., None] + offsets_T + 1].astype(np.int32)
        return x, y

    def mapped_tokens(self) -> np.ndarray:
        """The tokens; a memory-mapped token file is mapped again every REMAP_EVERY batches. Every
        page a map has read stays in the process's resident memory while the map lives, so one map
        held for a whole run grows toward the size of the corpus (nanoGPT's issue #287, fixed there
        by a map per batch; a map costs ~0.1 ms, so here one per REMAP_EVERY batches bounds the
        growth to their pages)."""
        tokens = self.tokens
        if not (isinstance(tokens, np.memmap) and isinstance(tokens.base, mmap.mmap)):  # not a whole map
            return tokens
        self._batches_from_map += 1
        if self._batches_from_map >= REMAP_EVERY:
            self.tokens = np.memmap(
                tokens.filename, dtype=tokens.dtype, mode="r", offset=tokens.offset, shape=tokens.shape
            )
            self._batches_from_map = 0
        return self.tokens
