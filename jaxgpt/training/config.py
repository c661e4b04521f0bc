"""How to train: `TrainConfig` (nanoGPT's flag names and defaults) and the recipes of the presets."""

from __future__ import annotations

import dataclasses
import pathlib

import jax
import jax.numpy as jnp

from jaxgpt.training.data import DATASETS, check_data_file
from jaxgpt.model.pretrained import GPT2_REPOS

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
DROPOUT_RNGS = ("threefry2x32", "rbg", "unsafe_rbg")  # jax.random's implementations
LR_SCHEDULES = ("cosine", "noam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Names and defaults are nanoGPT's train.py (GPT-2 on OpenWebText);
    `TRAIN_RECIPES` holds its Shakespeare settings."""

    out_dir: str = "out"
    eval_interval: int = 2000  # evaluate (and maybe checkpoint) every this many iterations
    log_interval: int = 1
    eval_iters: int = 200  # batches per split in each evaluation
    eval_only: bool = False  # evaluate once and exit
    always_save_checkpoint: bool = True  # checkpoint at every evaluation, not only when val loss improves
    init_from: str = "scratch"  # "scratch", "resume" (latest checkpoint in out_dir), "gpt2"... or a weights path
    dataset: str = "shakespeare_char"  # or "shakespeare" (GPT-2 BPE), or a folder from scripts/prepare.py
    data_file: str | None = None  # any UTF-8 text file, character-level; overrides dataset
    gradient_accumulation_steps: int = 1  # micro-batches per optimizer step
    batch_size: int = 12  # sequences per micro-batch, split over all devices
    learning_rate: float = 6e-4  # peak learning rate
    max_iters: int = 600000  # optimizer steps in total
    weight_decay: float = 1e-1  # AdamW decay, on matrices and embeddings only
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # clip gradients to this global norm; 0 disables
    decay_lr: bool = True  # warm up, then decay (lr_schedule); False keeps learning_rate constant
    lr_schedule: str = "cosine"  # "cosine" (to min_lr at lr_decay_iters) or "noam" (inverse square root, 2017)
    warmup_iters: int = 2000
    lr_decay_iters: int = 600000  # reaches min_lr here (nanoGPT: about max_iters)
    min_lr: float = 6e-5  # about learning_rate / 10
    dtype: str = "float32"  # compute dtype; "bfloat16" keeps float32 parameters
    seed: int = 1337
    keep_checkpoints: int = 3  # the last N are kept, and the best by val loss
    label_smoothing: float = 0.0  # epsilon: the target puts 1 - eps on the true token, eps / V on each token
    mesh: str | None = None  # "data=8" or "data=4,fsdp=2"; default: every device on the data axis
    peak_flops: float = 0.0  # FLOP/s that MFU divides by; 0: the device table (GPU/TPU) or measured (CPU)
    dropout_rng: str = "threefry2x32"  # JAX's generator for dropout masks (or rbg, unsafe_rbg)
    compilation_cache: bool = True  # keep compiled steps on disk ($JAXGPT_CACHE_DIR/jit): later runs start faster

    def __post_init__(self):
        for name in (
            "eval_interval",
            "log_interval",
            "eval_iters",
            "gradient_accumulation_steps",
            "batch_size",
            "keep_checkpoints",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        for name in ("max_iters", "warmup_iters", "lr_decay_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be an integer >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate} must be > 0")
        if self.decay_lr and not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(f"min_lr={self.min_lr} must be between 0 and learning_rate={self.learning_rate}")
        if self.decay_lr and self.lr_decay_iters < self.warmup_iters:
            raise ValueError(f"lr_decay_iters={self.lr_decay_iters} must be >= warmup_iters={self.warmup_iters}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule={self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}")
        if self.lr_schedule == "noam" and self.warmup_iters < 1:
            raise ValueError(f"lr_schedule='noam' needs warmup_iters >= 1, got {self.warmup_iters}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.weight_decay < 0 or self.grad_clip < 0 or self.peak_flops < 0:
            raise ValueError("weight_decay, grad_clip and peak_flops must be >= 0")
        if self.dropout_rng not in DROPOUT_RNGS:
            raise ValueError(f"dropout_rng={self.dropout_rng!r} is not one of {', '.join(DROPOUT_RNGS)}")
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is not one of {', '.join(DTYPES)}")

    def check_sources(self) -> None:
        """The weights and data named exist: checked by the trainer before anything is loaded (a
        config read back from a checkpoint is not checked: its data may have moved since)."""
        if self.init_from not in ("scratch", "resume", *GPT2_REPOS) and not pathlib.Path(self.init_from).exists():
            raise ValueError(
                f"init_from={self.init_from!r} is not scratch, resume, one of {', '.join(GPT2_REPOS)} "
                "or a path to GPT-2 weights in Hugging Face's layout"
            )
        if self.data_file is not None:
            check_data_file(self.data_file)
        elif self.dataset not in DATASETS and not pathlib.Path(self.dataset).is_dir():
            raise ValueError(
                f"dataset={self.dataset!r} is not one of {', '.join(DATASETS)} nor a folder made by "
                "scripts/prepare.py; or pass --data_file"
            )


_SHAKESPEARE_RECIPE = dict(
    out_dir="out-shakespeare-char",
    eval_interval=250,
    eval_iters=200,
    log_interval=10,
    always_save_checkpoint=False,
    batch_size=64,
    learning_rate=1e-3,
    max_iters=5000,
    lr_decay_iters=5000,
    min_lr=1e-4,
    beta2=0.99,
    warmup_iters=100,
)
TRAIN_RECIPES: dict[str, dict] = {
    # nanoGPT's config/train_shakespeare_char.py
    "shakespeare-char": _SHAKESPEARE_RECIPE,
    # and the CPU command of nanoGPT's README (batch 12, 2000 iterations, eval_iters 20)
    "shakespeare-char-cpu": {
        **_SHAKESPEARE_RECIPE,
        "batch_size": 12,
        "max_iters": 2000,
        "lr_decay_iters": 2000,
        "eval_iters": 20,
    },
}


# nanoGPT's config/finetune_shakespeare.py: the recipe when training starts from GPT-2's weights
FINETUNE_RECIPE = dict(
    out_dir="out-shakespeare",
    eval_interval=5,
    eval_iters=40,
    always_save_checkpoint=False,
    dataset="shakespeare",
    batch_size=1,
    gradient_accumulation_steps=32,
    max_iters=20,
    learning_rate=3e-5,
    decay_lr=False,
)


def default_preset() -> str:
    """The model to train when none is named: small on a CPU, nanoGPT's Shakespeare model elsewhere."""
    return "shakespeare-char-cpu" if jax.default_backend() == "cpu" else "shakespeare-char"
