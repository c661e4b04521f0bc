"""Karpathy's "Let's build GPT" in Flax, stage by stage: the video's modules, trained as the video
trains them, with checkers for your own (notebooks/02_lets_build_gpt.ipynb codes along with it).

    from jaxgpt.study import codealong
    codealong.check_head(MyHead)                        # your head beside the video's
    codealong.train_stage("one head", data, codealong.model_of(codealong.STAGES["one head"], head=MyHead))

The modules keep the video's names (`Head`, `MultiHeadAttention`, `FeedFoward`, `Block`,
`BigramLanguageModel`, `GPTLanguageModel`), its parameter names and PyTorch's initialisation, and
take one `CodeAlongConfig` with a flag for each stage (`n_layer`, `ffwd`, `residual`, `layernorm`,
`dropout`). `jaxgpt.benchmark.codealong_torch` is their PyTorch twin: scripts/codealong_vs_torch.py
trains both on the same batches from the same weights and writes `video_losses`.
"""

from jaxgpt.study.codealong.attention import Head, MultiHeadAttention
from jaxgpt.study.codealong.averaging import average_loop, average_matmul, average_softmax
from jaxgpt.study.codealong.bigram import BigramLanguageModel
from jaxgpt.study.codealong.block import Block
from jaxgpt.study.codealong.checks import (
    check_averaging,
    check_bigram,
    check_block,
    check_feed_foward,
    check_head,
    check_multi_head,
)
from jaxgpt.study.codealong.config import STAGES, CodeAlongConfig, Stage
from jaxgpt.study.codealong.feedforward import FeedFoward
from jaxgpt.study.codealong.gpt import GPTLanguageModel, stage_model
from jaxgpt.study.codealong.layers import Embedding, Linear
from jaxgpt.study.codealong.stage import TOLERANCE, StageResult, model_of, train_stage, val_loss_after, yours_or_video
from jaxgpt.study.codealong.training import estimate_loss, generate, get_batches, init_params, train

__all__ = [
    "STAGES",
    "TOLERANCE",
    "BigramLanguageModel",
    "Block",
    "CodeAlongConfig",
    "Embedding",
    "FeedFoward",
    "GPTLanguageModel",
    "Head",
    "Linear",
    "MultiHeadAttention",
    "Stage",
    "StageResult",
    "average_loop",
    "average_matmul",
    "average_softmax",
    "check_averaging",
    "check_bigram",
    "check_block",
    "check_feed_foward",
    "check_head",
    "check_multi_head",
    "estimate_loss",
    "generate",
    "get_batches",
    "init_params",
    "model_of",
    "stage_model",
    "train",
    "train_stage",
    "val_loss_after",
    "yours_or_video",
]
