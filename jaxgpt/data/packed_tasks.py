"""A sequence-to-sequence task for a decoder-only model: source and target packed into one sequence,
as a GPT reads a prompt and its answer.

    packed   [source..., SEP, target..., EOS, pad...]      SEP is BOS, the token the encoder-decoder's
    x        packed[:-1]                                     decoder starts from
    y        packed[1:], with PAD where x is still the source

y is PAD wherever the next token is a source token (or the separator itself), so a pad-masked loss
scores exactly what the encoder-decoder is scored on: the target symbols and EOS. The model still
reads the source, through causal self-attention; it is just never asked to predict it. When the
source and target vocabularies differ ("words"), target symbols get ids after the source's.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxgpt.data.tasks import BOS, EOS, N_SPECIAL, PAD, Seq2SeqTask, TaskSampler

SEP = BOS  # between source and target


@dataclasses.dataclass(frozen=True)
class PackedTask:
    """`task` (a Seq2SeqTask) as one token sequence per example; see the module's docstring."""

    task: Seq2SeqTask

    @property
    def shared_vocabulary(self) -> bool:
        return self.task.src_symbols == self.task.tgt_symbols

    @property
    def target_offset(self) -> int:  # added to a target symbol's id in the task's target vocabulary
        return 0 if self.shared_vocabulary else len(self.task.src_symbols)

    @property
    def vocab_size(self) -> int:  # V: specials, source symbols, and target symbols unless shared
        return self.task.src_vocab_size + (0 if self.shared_vocabulary else len(self.task.tgt_symbols))

    @property
    def length(self) -> int:  # L of x and y: longest source, SEP, longest target, EOS, minus the shift
        return (self.task.src_len - 1) + 1 + (self.task.tgt_len - 1) + 1 - 1

    def example_inputs(self) -> tuple[np.ndarray]:
        """Zero ids [1, L]: what a GPT for this task is initialised on."""
        return (np.zeros((1, self.length), np.int32),)

    def prompt(self, source: str) -> tuple[np.ndarray, int]:
        """([source..., SEP, pad...] of length L + 1, the index of SEP): what greedy decoding continues."""
        source_ids = [N_SPECIAL + self.task.src_symbols.index(ch) for ch in source]  # no EOS: SEP ends it
        ids = np.zeros(self.length + 1, np.int32)
        ids[: len(source_ids)] = source_ids
        ids[len(source_ids)] = SEP
        return ids, len(source_ids)

    def pack(self, source: str, target: str) -> tuple[np.ndarray, np.ndarray]:
        """(x [L], y [L]) of one example: y is x shifted by one, PAD before the target."""
        packed_P, sep = self.prompt(source)
        target_ids = [N_SPECIAL + self.target_offset + self.task.tgt_symbols.index(ch) for ch in target] + [EOS]
        packed_P[sep + 1 : sep + 1 + len(target_ids)] = target_ids
        y_L = packed_P[1:].copy()
        y_L[:sep] = PAD  # these positions would predict the source and SEP: not scored
        return packed_P[:-1], y_L

    def decode_target(self, ids) -> str:
        """Generated ids (after SEP) up to the first EOS or pad -> target text."""
        shifted = [i - self.target_offset if i >= N_SPECIAL else i for i in np.asarray(ids).tolist()]
        return self.task.decode_target(shifted)


class PackedTaskSampler(TaskSampler):
    """Seeded batches (x [..., L], y [..., L]) of one split of `task`: the same held-out rule and the
    same stream of examples as `TaskSampler` with this seed, packed."""

    def __init__(self, packed: PackedTask, seed: int, split: str = "train"):
        super().__init__(packed.task, seed, split)
        self.packed = packed

    def sample(self, *batch_shape: int):
        pairs = self.examples(int(np.prod(batch_shape)))
        x, y = (np.stack(parts) for parts in zip(*(self.packed.pack(s, t) for s, t in pairs)))
        return tuple(a.reshape(*batch_shape, a.shape[-1]) for a in (x, y))
