"""Synthetic sequence-to-sequence tasks, generated in code: copy, reverse and sort digit strings,
and a tiny "translation" from digits spelled as English words to digits (two vocabularies).

Token ids: 0 pad, 1 begin-of-sequence, 2 end-of-sequence, then the task's symbols. A source is
[symbols..., EOS, pad...]; the decoder reads [BOS, symbols..., pad...] (teacher forcing) and
learns to predict [symbols..., EOS, pad...]. One source in ten (by a hash of its text) is held
out: the training stream never shows it, and accuracy is measured on those only.
"""

from __future__ import annotations

import dataclasses
import zlib

import numpy as np

from jaxgpt.data.sampler import SeededSampler

PAD, BOS, EOS = 0, 1, 2
N_SPECIAL = 3
DIGITS = "0123456789"
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


@dataclasses.dataclass(frozen=True)
class Seq2SeqTask:
    name: str
    src_symbols: str  # the source vocabulary after the 3 special tokens
    tgt_symbols: str
    max_digits: int  # longest digit string

    @property
    def src_vocab_size(self) -> int:
        return N_SPECIAL + len(self.src_symbols)

    @property
    def tgt_vocab_size(self) -> int:
        return N_SPECIAL + len(self.tgt_symbols)

    @property
    def src_len(self) -> int:  # S: longest source in tokens, EOS included
        longest = self.max_digits * (6 if self.name == "words" else 1)  # "three" + a space
        return longest + 1

    @property
    def tgt_len(self) -> int:  # T: BOS (or EOS) plus the longest target
        return self.max_digits + 1

    def example_inputs(self) -> tuple[np.ndarray, np.ndarray]:
        """Zero source [1, S] and target [1, T] ids: what a model for this task is initialised on."""
        return np.zeros((1, self.src_len), np.int32), np.zeros((1, self.tgt_len), np.int32)

    def example(self, rng: np.random.Generator) -> tuple[str, str]:
        """One random (source text, target text) pair."""
        digits = "".join(rng.choice(list(DIGITS), size=int(rng.integers(1, self.max_digits + 1))))
        if self.name == "copy":
            return digits, digits
        if self.name == "reverse":
            return digits, digits[::-1]
        if self.name == "sort":
            return digits, "".join(sorted(digits))
        return " ".join(WORDS[int(d)] for d in digits), digits  # "words"

    def encode_source(self, text: str) -> np.ndarray:
        ids = [N_SPECIAL + self.src_symbols.index(ch) for ch in text] + [EOS]
        return np.array(ids + [PAD] * (self.src_len - len(ids)), np.int32)

    def encode_target(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """(decoder input [BOS, t...], expected output [t..., EOS]), both padded to tgt_len."""
        ids = [N_SPECIAL + self.tgt_symbols.index(ch) for ch in text]
        pad = [PAD] * (self.tgt_len - len(ids) - 1)
        return np.array([BOS] + ids + pad, np.int32), np.array(ids + [EOS] + pad, np.int32)

    def decode_target(self, ids) -> str:
        """Token ids up to the first EOS (or pad) -> text."""
        text = []
        for i in np.asarray(ids).tolist():
            if i in (EOS, PAD):
                break
            if i >= N_SPECIAL:
                text.append(self.tgt_symbols[i - N_SPECIAL])
        return "".join(text)


TASKS = {
    "copy": Seq2SeqTask("copy", DIGITS, DIGITS, max_digits=10),
    "reverse": Seq2SeqTask("reverse", DIGITS, DIGITS, max_digits=10),
    "sort": Seq2SeqTask("sort", DIGITS, DIGITS, max_digits=10),
    "words": Seq2SeqTask("words", "abcdefghijklmnopqrstuvwxyz ", DIGITS, max_digits=6),
}


def is_held_out(source_text: str) -> bool:
    return zlib.crc32(source_text.encode()) % 10 == 0


class TaskSampler(SeededSampler):
    """Seeded batches (src [..., S], tgt_in [..., T], tgt_out [..., T]) of one split: "train"
    never yields a held-out source, "val" only held-out ones."""

    def __init__(self, task: Seq2SeqTask, seed: int, split: str = "train"):
        super().__init__(seed)
        self.task, self.held_out = task, split == "val"

    def examples(self, n: int) -> list[tuple[str, str]]:
        pairs = []
        while len(pairs) < n:
            source, target = self.task.example(self.rng)
            if is_held_out(source) == self.held_out:
                pairs.append((source, target))
        return pairs

    def sample(self, *batch_shape: int):
        pairs = self.examples(int(np.prod(batch_shape)))
        src = np.stack([self.task.encode_source(s) for s, _ in pairs])
        tgt_in, tgt_out = (np.stack(parts) for parts in zip(*(self.task.encode_target(t) for _, t in pairs)))
        return tuple(a.reshape(*batch_shape, a.shape[-1]) for a in (src, tgt_in, tgt_out))
