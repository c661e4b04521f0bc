"""Command-line flags: one --flag per config field (nanoGPT's names: --name=value or --name value),
each with a line of help saying what it does, the values it takes and its default, and errors
in one line instead of argparse's usage block."""

from __future__ import annotations

import argparse
import dataclasses

from jaxgpt.errors import InputError
from jaxgpt.model.config import ACTIVATIONS, ATTENTION_IMPLEMENTATIONS, POSITIONS
from jaxgpt.model.pretrained import GPT2_REPOS
from jaxgpt.training.config import DROPOUT_RNGS, LR_SCHEDULES, TrainConfig
from jaxgpt.training.data import DATASETS
from jaxgpt.training.precision import AUTO, DTYPES
from jaxgpt.training.run_dir import RunDir
from jaxgpt.training.sharding import fit_batch_to_devices

# what each config field does, for --help; the accepted values of a closed set come from `CHOICES`
HELP = {
    # TrainConfig
    "out_dir": "the run's folder: config.json, metrics.jsonl, loss.png and the checkpoints",
    "eval_interval": "evaluate every this many iterations (and checkpoint, see always_save_checkpoint)",
    "log_interval": "log the training loss every this many iterations",
    "eval_iters": "batches per split in each evaluation",
    "eval_only": "True: evaluate the model once, print the losses and write nothing",
    "always_save_checkpoint": "True: checkpoint at every evaluation; False: only when the val loss improves "
    "(and at the end)",
    "init_from": f"scratch, resume (the newest checkpoint in out_dir), {', '.join(GPT2_REPOS)}, or a folder or "
    ".safetensors file of GPT-2 weights in Hugging Face's layout",
    "dataset": f"{' or '.join(DATASETS)} (tiny Shakespeare by characters or by GPT-2 tokens), or a folder "
    "made by scripts/prepare.py",
    "data_file": "any UTF-8 text file, tokenized by characters; replaces --dataset",
    "gradient_accumulation_steps": "micro-batches averaged into one optimizer step",
    "batch_size": "sequences per micro-batch, split over all devices (a multiple of their number)",
    "learning_rate": "peak learning rate (after warmup)",
    "max_iters": "optimizer steps in total",
    "weight_decay": "AdamW's decoupled weight decay, on matrices and embeddings only",
    "beta1": "AdamW's beta1, in [0, 1)",
    "beta2": "AdamW's beta2, in [0, 1)",
    "grad_clip": "clip gradients to this global norm; 0 turns clipping off",
    "decay_lr": "True: warm up, then follow lr_schedule; False: constant learning_rate",
    "lr_schedule": "cosine: to min_lr at lr_decay_iters (nanoGPT); noam: inverse square root (2017 paper)",
    "warmup_iters": "iterations of linear warmup, nanoGPT's: learning_rate * (it + 1) / (warmup_iters + 1)",
    "lr_decay_iters": "the cosine schedule reaches min_lr here (about max_iters)",
    "min_lr": "the learning rate at the end of the cosine (about learning_rate / 10)",
    "dtype": "compute dtype; parameters stay float32; float16 adds dynamic loss scaling; auto: bfloat16 on TPUs "
    "and GPUs of compute capability >= 8.0, float16 on older GPUs (T4, V100), float32 on CPUs",
    "seed": "seeds the initial weights, the batches and dropout",
    "keep_checkpoints": "how many of the latest checkpoints to keep (the best one is kept too)",
    "label_smoothing": "epsilon in [0, 1): the target puts 1 - eps on the true token and eps / V on each",
    "mesh": "devices as data=N or data=N,fsdp=M (fsdp also splits parameters and optimizer state); "
    "default: every device on the data axis",
    "peak_flops": "FLOP/s per device that MFU divides by; 0: the device table (GPU, TPU) or measured (CPU)",
    "dropout_rng": "JAX's random generator for dropout masks",
    "profile": "START:STOP, e.g. 10:20: a jax.profiler trace of those iterations in out_dir/profile, for "
    "Perfetto or TensorBoard",
    "compilation_cache": "keep compiled steps on disk ($JAXGPT_CACHE_DIR/jit) so later runs start faster",
    "wandb_log": 'also log the metrics to Weights & Biases (needs pip install -e ".[wandb]"; WANDB_MODE=offline '
    "keeps the run on disk)",
    "wandb_project": "the Weights & Biases project",
    "wandb_run_name": "the Weights & Biases run's name (default: the out_dir's name)",
    # GPTConfig and TransformerConfig
    "block_size": "context length: the longest sequence the model sees",
    "n_layer": "transformer blocks",
    "n_head": "attention heads per block (must divide the width)",
    "n_embd": "width of the residual stream",
    "dropout": "dropout rate in [0, 1) on embeddings, attention weights and residual branches",
    "bias": "biases in linear layers and LayerNorms (GPT-2: True; nanoGPT's Shakespeare models: False)",
    "position": "position encoding",
    "attention_impl": "manual: the readable einsum path; xla or cudnn: jax.nn.dot_product_attention",
    "remat": "recompute each block's activations in the backward pass: less memory, about 1/3 more compute",
    "n_encoder_layer": "encoder blocks",
    "n_decoder_layer": "decoder blocks",
    "d_model": "width of the residual stream",
    "d_ff": "inner width of the feed-forward layers",
    "norm_first": "False: post-LN as the 2017 paper; True: pre-LN as GPT-2",
    "activation": "the feed-forward's nonlinearity",
}

CHOICES = {
    "dtype": (AUTO, *DTYPES),
    "lr_schedule": LR_SCHEDULES,
    "dropout_rng": DROPOUT_RNGS,
    "position": POSITIONS,
    "attention_impl": ATTENTION_IMPLEMENTATIONS,
    "activation": ACTIVATIONS,
}


class OneLineErrorParser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_bool(text: str) -> bool:
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def parse_checkpoint(text: str) -> str | int:
    """--checkpoint's value: "best", "latest" or an iteration number; anything else a one-line error."""
    if text.isdigit():
        return int(text)
    if text not in ("best", "latest"):
        raise InputError(f"--checkpoint={text!r} must be best, latest or an iteration number")
    return text


_TYPES = {"int": int, "float": float, "bool": parse_bool, "str": str, "str | None": str}


def add_config_flags(parser, cls, defaults, names=None) -> None:
    """One --flag per field of the dataclass `cls` (or of `names`), its help from HELP and its
    default shown as `defaults` has it (the preset's or recipe's, not the dataclass's)."""
    for field in dataclasses.fields(cls):
        if names is None or field.name in names:
            choices = CHOICES.get(field.name)
            kind = field.type.split(" ")[0]
            parser.add_argument(
                f"--{field.name}",
                type=_TYPES[field.type],
                default=None,
                choices=choices,
                metavar="{" + ",".join(choices) + "}" if choices else kind.upper(),
                help=f"{HELP[field.name]} (default: {getattr(defaults, field.name)})",
            )


def add_move_old_run_flag(parser) -> None:
    parser.add_argument(
        "--move_old_run",
        type=parse_bool,
        default=False,
        metavar="BOOL",
        help="True: if out_dir holds another run, rename its folder to OUT_DIR.old-N first (nothing is deleted) "
        "(default: False: stop and say so)",
    )


def given_flags(args, model_names, not_config=()) -> tuple[dict, dict]:
    """The flags given on the command line (those left unset are None), split into the model's
    fields (`model_names`) and the training's; the flags in `not_config` belong to neither."""
    given = {name: value for name, value in vars(args).items() if value is not None and name not in not_config}
    model = {name: value for name, value in given.items() if name in model_names}
    return model, {name: value for name, value in given.items() if name not in model_names}


def fit_recipe_to_devices(settings: dict, flags: dict, n_devices: int) -> tuple[dict, str | None]:
    """`settings` (a recipe with the flags over it) with micro-batches that `n_devices` split evenly
    when the batch size came from the recipe, not from --batch_size (a size the user chose is
    refused later, in one line, if the devices do not divide it); and a line saying what changed."""
    if "batch_size" in flags:
        return settings, None
    B = settings.get("batch_size", TrainConfig.batch_size)
    A = settings.get("gradient_accumulation_steps", TrainConfig.gradient_accumulation_steps)
    new_B, new_A = fit_batch_to_devices(B, A, n_devices, keep_accumulation="gradient_accumulation_steps" in flags)
    if (new_B, new_A) == (B, A):
        return settings, None
    note = (
        f"batch_size {B} x {A} micro-batch(es) per step became {new_B} x {new_A}, so each of the {n_devices} "
        f"devices gets an equal share (--batch_size sets another multiple of {n_devices})"
    )
    return {**settings, "batch_size": new_B, "gradient_accumulation_steps": new_A}, note


def run_settings(recipe: dict, flags: dict) -> dict:
    """Resuming: the run's own training settings (its config.json) are the defaults that flags
    override, so `--init_from resume` alone continues the run as it was started."""
    out_dir = flags.get("out_dir", recipe.get("out_dir", TrainConfig.out_dir))
    config = RunDir(out_dir).read_config()
    if config is None:  # a folder without config.json: resume fails with its own message, or a run of old
        return recipe
    names = {field.name for field in dataclasses.fields(TrainConfig)} - {"init_from", "eval_only"}
    return {name: value for name, value in config.get("train", {}).items() if name in names}
