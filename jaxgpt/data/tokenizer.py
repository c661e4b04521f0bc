"""Tokenizers turn text into token ids and back. Saved with every checkpoint as a small dict."""

from __future__ import annotations

import os
import pathlib

import numpy as np

from jaxgpt.errors import InputError, JaxgptError

GPT2_VOCAB_ENV = "JAXGPT_GPT2_VOCAB_DIR"


class CharTokenizer:
    """One token per distinct character of the training text, ids in sorted character order
    (as nanoGPT's shakespeare_char/prepare.py): tiny Shakespeare gives 65 tokens."""

    kind = "char"

    def __init__(self, chars: str):
        self.chars = chars
        codes_V = np.array([ord(ch) for ch in chars], dtype=np.uint32)
        self._order_V = np.argsort(codes_V)  # ids by code point, so text is encoded by a sorted search
        self._sorted_codes_V = codes_V[self._order_V]

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """text -> token ids [len(text)] (int32). Characters the vocabulary lacks are an error."""
        codes_N = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        at_N = np.minimum(np.searchsorted(self._sorted_codes_V, codes_N), max(len(self.chars) - 1, 0))
        known_N = self._sorted_codes_V[at_N] == codes_N if len(self.chars) else np.zeros(len(codes_N), bool)
        if not known_N.all():
            unknown = sorted(chr(code) for code in np.unique(codes_N[~known_N]))
            listed = ", ".join(repr(ch) for ch in unknown[:20])
            raise InputError(
                f"text has {len(unknown)} character(s) outside the tokenizer's {self.vocab_size}-character "
                f"vocabulary: {listed}; remove them or train on a text that contains them"
            )
        return self._order_V[at_N].astype(np.int32)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in np.asarray(ids).reshape(-1))

    def to_dict(self) -> dict:
        return {"kind": self.kind, "chars": self.chars}


class TokenizerError(JaxgptError):
    """A tokenizer that cannot be built here; the message says how to supply what is missing."""


class BPETokenizer:
    """GPT-2's byte-pair encoding (50,257 tokens) through tiktoken.

    tiktoken downloads GPT-2's two vocabulary files on first use and caches them. Offline, put
    `vocab.bpe` and `encoder.json` in a folder and point $JAXGPT_GPT2_VOCAB_DIR at it."""

    kind = "bpe"

    def __init__(self, encoding):
        self.encoding = encoding  # a tiktoken.Encoding

    @classmethod
    def gpt2(cls, vocab_dir: str | None = None) -> "BPETokenizer":
        import tiktoken

        vocab_dir = vocab_dir or os.environ.get(GPT2_VOCAB_ENV)
        if vocab_dir:
            return cls(_encoding_from_files(pathlib.Path(vocab_dir)))
        try:
            return cls(tiktoken.get_encoding("gpt2"))
        except Exception as error:
            raise TokenizerError(
                f"could not fetch GPT-2's BPE vocabulary ({type(error).__name__}): download vocab.bpe and "
                f"encoder.json (openaipublic gpt-2/encodings/main), put them in a folder and set {GPT2_VOCAB_ENV}"
            ) from None

    @property
    def vocab_size(self) -> int:
        return self.encoding.n_vocab

    def encode(self, text: str) -> np.ndarray:
        """text -> token ids (int32), straight into an array (no Python list of ints on the way)."""
        return self.encoding.encode_to_numpy(text, allowed_special="all").astype(np.int32)

    def decode(self, ids) -> str:
        return self.encoding.decode([int(i) for i in np.asarray(ids).reshape(-1)])

    def to_dict(self) -> dict:
        return {"kind": self.kind, "encoding": "gpt2"}


def _encoding_from_files(folder: pathlib.Path):
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks
    from tiktoken_ext.openai_public import r50k_pat_str

    files = [folder / "vocab.bpe", folder / "encoder.json"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise TokenizerError(
            f"{GPT2_VOCAB_ENV}={folder} lacks {', '.join(missing)}: put GPT-2's vocab.bpe and encoder.json there"
        )
    ranks = data_gym_to_mergeable_bpe_ranks(str(files[0]), str(files[1]))
    return tiktoken.Encoding(
        "gpt2", pat_str=r50k_pat_str, mergeable_ranks=ranks, special_tokens={"<|endoftext|>": len(ranks)}
    )


def tokenizer_from_dict(saved: dict):
    """Rebuild a tokenizer from its `to_dict()` (as stored in a checkpoint)."""
    kinds = {CharTokenizer.kind: lambda d: CharTokenizer(d["chars"]), BPETokenizer.kind: lambda d: BPETokenizer.gpt2()}
    if saved.get("kind") not in kinds:
        raise InputError(f"unknown tokenizer kind {saved.get('kind')!r}: known kinds are {', '.join(kinds)}")
    return kinds[saved["kind"]](saved)
