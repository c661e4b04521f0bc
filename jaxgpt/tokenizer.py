"""Tokenizers turn text into token ids and back. Saved with every checkpoint as a small dict."""

from __future__ import annotations

import numpy as np


class CharTokenizer:
    """One token per distinct character of the training text, ids in sorted character order
    (as nanoGPT's shakespeare_char/prepare.py): tiny Shakespeare gives 65 tokens."""

    kind = "char"

    def __init__(self, chars: str):
        self.chars = chars
        self._id_of = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """text -> token ids [len(text)] (int32). Characters the vocabulary lacks are an error."""
        try:
            return np.array([self._id_of[ch] for ch in text], dtype=np.int32)
        except KeyError:
            unknown = sorted(set(text) - set(self._id_of))
            listed = ", ".join(repr(ch) for ch in unknown[:20])
            raise ValueError(
                f"text has {len(unknown)} character(s) outside the tokenizer's {self.vocab_size}-character "
                f"vocabulary: {listed}; remove them or train on a text that contains them"
            ) from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


def tokenizer_from_dict(saved: dict):
    """Rebuild a tokenizer from its `to_dict()` (as stored in a checkpoint)."""
    kinds = {CharTokenizer.kind: lambda d: CharTokenizer(d["chars"])}
    if saved.get("kind") not in kinds:
        raise ValueError(f"unknown tokenizer kind {saved.get('kind')!r}: known kinds are {', '.join(kinds)}")
    return kinds[saved["kind"]](saved)
