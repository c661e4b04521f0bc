"""How to train: `TrainConfig`, nanoGPT's flag names and defaults. A leaf: it checks its own values
and imports nothing of the project but the errors and the dtype names (paths are checked by the
trainer that uses them)."""

from __future__ import annotations

import dataclasses
import importlib.util

from jaxgpt.errors import InputError, check_int
from jaxgpt.training.precision import AUTO, DTYPES

DROPOUT_RNGS = ("threefry2x32", "rbg", "unsafe_rbg")  # jax.random's implementations
LR_SCHEDULES = ("cosine", "noam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Names and defaults are nanoGPT's train.py (GPT-2 on OpenWebText);
    `jaxgpt.training.recipes` holds its Shakespeare settings."""

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
    dtype: str = AUTO  # compute dtype (float32, bfloat16, float16); parameters stay float32; auto: the device's
    seed: int = 1337
    keep_checkpoints: int = 3  # the last N are kept, and the best by val loss
    label_smoothing: float = 0.0  # epsilon: the target puts 1 - eps on the true token, eps / V on each token
    mesh: str | None = None  # "data=8" or "data=4,fsdp=2"; default: every device on the data axis
    peak_flops: float = 0.0  # FLOP/s that MFU divides by; 0: the device table (GPU/TPU) or measured (CPU)
    dropout_rng: str = "threefry2x32"  # JAX's generator for dropout masks (or rbg, unsafe_rbg)
    profile: str | None = None  # "START:STOP": a jax.profiler trace of iterations START..STOP in out_dir/profile
    compilation_cache: bool = (
        True  # the scripts keep compiled steps on disk ($JAXGPT_CACHE_DIR/jit): later runs start faster
    )
    wandb_log: bool = False  # also log to Weights & Biases (nanoGPT's flags; pip install -e ".[wandb]")
    wandb_project: str = "jaxgpt"
    wandb_run_name: str | None = None  # default: the out_dir's name

    def __post_init__(self):
        positive = ("eval_interval", "log_interval", "eval_iters", "gradient_accumulation_steps", "batch_size")
        for name in (*positive, "keep_checkpoints"):
            check_int(name, getattr(self, name))
        for name in ("max_iters", "warmup_iters", "lr_decay_iters"):
            check_int(name, getattr(self, name), minimum=0)
        if not self.learning_rate > 0:
            raise InputError(f"learning_rate={self.learning_rate} must be > 0")
        if self.decay_lr and not 0 <= self.min_lr <= self.learning_rate:
            raise InputError(f"min_lr={self.min_lr} must be between 0 and learning_rate={self.learning_rate}")
        cosine = self.decay_lr and self.lr_schedule == "cosine"
        if cosine and self.warmup_iters > 0 and self.lr_decay_iters <= self.warmup_iters:
            raise InputError(
                f"lr_decay_iters={self.lr_decay_iters} must be > warmup_iters={self.warmup_iters}: "
                "the cosine decays between them"
            )
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise InputError(f"{name}={getattr(self, name)} must be in [0, 1)")
        if self.lr_schedule not in LR_SCHEDULES:
            raise InputError(f"lr_schedule={self.lr_schedule!r} is not one of {', '.join(LR_SCHEDULES)}")
        if self.lr_schedule == "noam" and self.warmup_iters < 1:
            raise InputError(f"lr_schedule='noam' needs warmup_iters >= 1, got {self.warmup_iters}")
        if not 0 <= self.label_smoothing < 1:
            raise InputError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        for name in ("weight_decay", "grad_clip", "peak_flops"):
            if not getattr(self, name) >= 0:
                raise InputError(f"{name}={getattr(self, name)} must be >= 0")
        if self.dropout_rng not in DROPOUT_RNGS:
            raise InputError(f"dropout_rng={self.dropout_rng!r} is not one of {', '.join(DROPOUT_RNGS)}")
        if self.profile is not None:
            _, stop = self.profile_steps
            if stop > self.max_iters:
                raise InputError(f"profile={self.profile!r} ends past max_iters={self.max_iters}: trace earlier steps")
        if self.dtype not in (AUTO, *DTYPES):
            raise InputError(f"dtype={self.dtype!r} is not one of {', '.join((AUTO, *DTYPES))}")
        if self.wandb_log and importlib.util.find_spec("wandb") is None:
            raise InputError('wandb_log=True needs the wandb package: pip install -e ".[wandb]" (or pip install wandb)')

    @property
    def profile_steps(self) -> tuple[int, int] | None:
        """(START, STOP) of `profile`: the steps from iteration START to iteration STOP are traced."""
        if self.profile is None:
            return None
        start, _, stop = str(self.profile).partition(":")
        if not (start.isdigit() and stop.isdigit() and int(start) < int(stop)):
            raise InputError(
                f"profile={self.profile!r} must be START:STOP, two iterations with START < STOP, e.g. 10:20"
            )
        return int(start), int(stop)
