"""How to train: `TrainConfig`, nanoGPT's flag names and defaults, each setting described once,
beside its field (jaxgpt.settings). It checks its own values and nothing of the machine: paths are
checked by the trainer that uses them, wandb's presence when a run starts logging, so a run's
config always loads back, anywhere."""

from __future__ import annotations

import dataclasses

from jaxgpt.data.sources import DATASETS
from jaxgpt.errors import InputError, check_int
from jaxgpt.model.pretrained import GPT2_REPOS
from jaxgpt.settings import setting
from jaxgpt.training.devices.precision import AUTO, DTYPES

DROPOUT_RNGS = ("threefry2x32", "rbg", "unsafe_rbg")  # jax.random's implementations
COMPILE_AHEAD = ("auto", "on", "off")  # jaxgpt/training/compile_ahead.py
LR_SCHEDULES = ("cosine", "noam")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Names and defaults are nanoGPT's train.py (GPT-2 on OpenWebText);
    `jaxgpt.training.recipes` holds its Shakespeare settings. Each field's help is its --help line."""

    out_dir: str = setting("out", "the run's folder: config.json, metrics.jsonl, loss.png and the checkpoints")
    eval_interval: int = setting(
        2000, "evaluate every this many iterations (and checkpoint, see always_save_checkpoint)"
    )
    log_interval: int = setting(1, "log the training loss every this many iterations")
    eval_iters: int = setting(200, "batches per split in each evaluation")
    eval_only: bool = setting(False, "True: evaluate the model once, print the losses and write nothing")
    always_save_checkpoint: bool = setting(
        True, "True: checkpoint at every evaluation; False: only when the val loss improves (and at the end)"
    )
    init_from: str = setting(
        "scratch",
        f"scratch, resume (the newest checkpoint in out_dir), {', '.join(GPT2_REPOS)}, or a folder or "
        ".safetensors file of GPT-2 weights in Hugging Face's layout",
    )
    dataset: str = setting(
        "shakespeare_char",
        f"{' or '.join(DATASETS)} (tiny Shakespeare by characters or by GPT-2 tokens), or a folder made by "
        "scripts/prepare.py",
    )
    data_file: str | None = setting(
        None,
        "a UTF-8 text, .jsonl or .parquet file (also .gz / .zst), a folder or a glob, tokenized by characters; "
        "replaces --dataset. Beyond one text file of 64 MB it is prepared once into the cache folder",
    )
    text_field: str = setting("text", "the field (.jsonl) or column (.parquet) that holds data_file's text")
    gradient_accumulation_steps: int = setting(1, "micro-batches averaged into one optimizer step")
    batch_size: int = setting(12, "sequences per micro-batch, split over all devices (a multiple of their number)")
    learning_rate: float = setting(6e-4, "peak learning rate (after warmup)")
    max_iters: int = setting(600000, "optimizer steps in total")
    weight_decay: float = setting(1e-1, "AdamW's decoupled weight decay, on matrices and embeddings only")
    beta1: float = setting(0.9, "AdamW's beta1, in [0, 1)")
    beta2: float = setting(0.95, "AdamW's beta2, in [0, 1)")
    grad_clip: float = setting(1.0, "clip gradients to this global norm; 0 turns clipping off")
    decay_lr: bool = setting(True, "True: warm up, then follow lr_schedule; False: constant learning_rate")
    lr_schedule: str = setting(
        "cosine", "cosine: to min_lr at lr_decay_iters (nanoGPT); noam: inverse square root (2017 paper)", LR_SCHEDULES
    )
    warmup_iters: int = setting(
        2000, "iterations of linear warmup, nanoGPT's: learning_rate * (it + 1) / (warmup_iters + 1)"
    )
    lr_decay_iters: int = setting(600000, "the cosine schedule reaches min_lr here (about max_iters)")
    min_lr: float = setting(6e-5, "the learning rate at the end of the cosine (about learning_rate / 10)")
    dtype: str = setting(
        AUTO,
        "compute dtype; parameters stay float32; float16 adds dynamic loss scaling; auto: bfloat16 on TPUs "
        "and GPUs of compute capability >= 8.0, float16 on older GPUs (T4, V100), float32 on CPUs",
        (AUTO, *DTYPES),
    )
    seed: int = setting(1337, "seeds the initial weights, the batches and dropout")
    keep_checkpoints: int = setting(3, "how many of the latest checkpoints to keep (the best one is kept too)")
    label_smoothing: float = setting(
        0.0, "epsilon in [0, 1): the target puts 1 - eps on the true token and eps / V on each"
    )
    mesh: str | None = setting(
        None,
        "devices as data=N or data=N,fsdp=M (fsdp also splits parameters and optimizer state); "
        "default: every device on the data axis",
    )
    peak_flops: float = setting(
        0.0, "FLOP/s per device that MFU divides by; 0: the device table (GPU, TPU) or measured (CPU)"
    )
    dropout_rng: str = setting("threefry2x32", "JAX's random generator for dropout masks", DROPOUT_RNGS)
    compile_ahead: str = setting(
        "auto",
        "compile the evaluation step, the train step and the closing sample side by side on worker threads "
        "while the model initialises and trains: auto (the closing sample everywhere, the steps too on GPUs "
        "and TPUs), on (all three) or off",
        COMPILE_AHEAD,
    )
    profile: str | None = setting(
        None,
        "START:STOP, e.g. 10:20: a jax.profiler trace of those iterations in out_dir/profile, for Perfetto or "
        "TensorBoard",
    )
    wandb_log: bool = setting(
        False,
        'also log the metrics to Weights & Biases (needs pip install -e ".[wandb]"; WANDB_MODE=offline keeps '
        "the run on disk)",
    )
    wandb_project: str = setting("jaxgpt", "the Weights & Biases project")
    wandb_run_name: str | None = setting(None, "the Weights & Biases run's name (default: the out_dir's name)")

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
        if self.compile_ahead not in COMPILE_AHEAD:
            raise InputError(f"compile_ahead={self.compile_ahead!r} is not one of {', '.join(COMPILE_AHEAD)}")
        if self.dropout_rng not in DROPOUT_RNGS:
            raise InputError(f"dropout_rng={self.dropout_rng!r} is not one of {', '.join(DROPOUT_RNGS)}")
        if self.profile is not None:
            _, stop = self.profile_steps
            if stop > self.max_iters:
                raise InputError(f"profile={self.profile!r} ends past max_iters={self.max_iters}: trace earlier steps")
        if self.dtype not in (AUTO, *DTYPES):
            raise InputError(f"dtype={self.dtype!r} is not one of {', '.join((AUTO, *DTYPES))}")

    @classmethod
    def from_json(cls, train: dict) -> "TrainConfig":
        """The config a run's JSON (config.json's or a checkpoint's "train") holds; settings that
        jaxgpt no longer has (a run from an older version) are left out."""
        names = {field.name for field in dataclasses.fields(cls)}
        return cls(**{name: value for name, value in train.items() if name in names})

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
