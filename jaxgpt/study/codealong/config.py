"""The video's models as one config, and the table of its stages: each stage is the last one with
one more idea switched on, at the settings both the notebook and scripts/codealong_vs_torch.py use."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class CodeAlongConfig:
    """The video's hyperparameters (its global variables), passed down to every module."""

    vocab_size: int = 65  # V: tiny Shakespeare's characters
    block_size: int = 8  # T: the longest context
    n_embd: int = 32  # C
    n_head: int = 4  # H: heads of head size D = C / H (1 head of D = C is the video's first `Head(n_embd)`)
    n_layer: int = 1  # blocks; the stages before Block are one block without residual or LayerNorm
    ffwd: bool = True  # a feed-forward layer after the attention
    residual: bool = True  # x + f(x), with the projections that came with it: `proj` after the heads, FFN 4C wide
    layernorm: bool = True  # pre-LN: ln1, ln2 in each block and ln_f before lm_head
    dropout: float = 0.0  # on the attention weights and after each projection, in training only

    @property
    def head_size(self) -> int:
        return self.n_embd // self.n_head


@dataclasses.dataclass(frozen=True)
class Stage:
    """One step of the video: the model's settings and the training run it gets."""

    name: str
    what: str  # what this stage adds, one line
    config: CodeAlongConfig | None  # None: the bigram model
    steps: int
    learning_rate: float
    batch_size: int = 32


_EARLY = dict(n_layer=1, ffwd=False, residual=False, layernorm=False)  # one attention layer on the embeddings
_SCALED = CodeAlongConfig(block_size=16, n_embd=64, n_head=4, n_layer=3)

# The video: batch 32, block_size 8, n_embd 32, lr 1e-2 for the bigram and 1e-3 afterwards, 3000-5000
# steps. Here each stage trains 300-1000 steps (a CPU second or so, after compiling); the scale-up
# is the video's last step made small (the video: n_embd 384, 6 heads, 6 layers, block_size 256,
# batch 64, lr 3e-4, dropout 0.2, 5000 steps on a GPU) so it trains in seconds on a laptop CPU,
# and without dropout: in 300 steps nothing overfits, so dropout only slows learning (and its
# random masks double the time XLA takes to compile the step).
STAGES = {
    stage.name: stage
    for stage in (
        Stage("bigram", "a table of next-character logits", None, 1000, 1e-2),
        Stage("one head", "self-attention, one head of size 32", CodeAlongConfig(n_head=1, **_EARLY), 1000, 1e-3),
        Stage("multi-head", "4 heads of size 8, concatenated", CodeAlongConfig(**_EARLY), 1000, 1e-3),
        Stage(
            "feed-forward",
            "a ReLU layer after the heads",
            CodeAlongConfig(**{**_EARLY, "ffwd": True}),
            1000,
            1e-3,
        ),
        Stage(
            "blocks",
            "3 blocks, no residual",
            CodeAlongConfig(n_layer=3, residual=False, layernorm=False),
            300,
            1e-3,
        ),
        Stage("residual", "x + f(x), with projections", CodeAlongConfig(n_layer=3, layernorm=False), 300, 1e-3),
        Stage("layernorm", "pre-LN and ln_f", CodeAlongConfig(n_layer=3), 300, 1e-3),
        Stage("dropout", "dropout 0.2", CodeAlongConfig(n_layer=3, dropout=0.2), 300, 1e-3),
        Stage("scale-up", "64 wide, context 16", _SCALED, 300, 3e-3, batch_size=16),
    )
}
