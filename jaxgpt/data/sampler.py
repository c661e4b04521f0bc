"""Seeded batch samplers: random windows of a token array, with a state that checkpoints save so a
resumed run draws exactly the batches the uninterrupted run would have."""

from __future__ import annotations

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

    def sample(self, *batch_shape: int):
        """x, y of shape [*batch_shape, T], int32."""
        starts = self.rng.integers(0, len(self.tokens) - self.block_size, size=batch_shape)
        offsets_T = np.arange(self.block_size)
        x = self.tokens[starts[..., None] + offsets_T].astype(np.int32)
        y = self.tokens[starts[..., None] + offsets_T + 1].astype(np.int32)
        return x, y
