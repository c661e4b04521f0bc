"""scripts/train.py: train a GPT with nanoGPT's flags, then print a sample."""

from __future__ import annotations

import jax

from jaxgpt.cli.allocator import describe
from jaxgpt.cli.flags import (
    COMMAND_FLAGS,
    add_command_flags,
    add_config_flags,
    fit_recipe_to_devices,
    given_flags,
    run_settings,
)
from jaxgpt.cli.run import OneLineErrorParser, use_compilation_cache
from jaxgpt.model.config import GPT_PRESETS, GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.distributed import initialize, is_main_process
from jaxgpt.training.recipes import FINETUNE_RECIPE, TRAIN_RECIPES, default_preset
from jaxgpt.training.train_gpt import train

MODEL_FLAGS = ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias", "position", "attention_impl", "remat")
DISTRIBUTED_FLAGS = ("coordinator_address", "num_processes", "process_id")


def train_parser(preset: str | None) -> OneLineErrorParser:
    """The flags of scripts/train.py, their defaults shown as `preset` has them (None: before the
    machine is known, when only the multi-process flags are read)."""
    parser = OneLineErrorParser(
        prog="train.py",
        add_help=preset is not None,
        description="Train a GPT (nanoGPT's flags). Defaults shown are those of the preset chosen on this "
        f"machine, {preset}; another --preset brings its own model and training recipe.",
    )
    parser.add_argument(
        "--preset",
        choices=list(GPT_PRESETS),
        metavar="NAME",
        help=f"model size and training recipe: {', '.join(GPT_PRESETS)} (default: {preset})",
    )
    add_config_flags(parser, TrainConfig, TrainConfig(**TRAIN_RECIPES.get(preset, {})))
    add_config_flags(parser, GPTConfig, GPTConfig.from_preset(preset) if preset else GPTConfig(), MODEL_FLAGS)
    add_command_flags(parser)
    add = parser.add_argument
    add(
        "--coordinator_address",
        help="multi-process runs: process 0's host:port, or auto to let JAX find it (TPU pods, SLURM, Open MPI) "
        "(default: $JAX_COORDINATOR_ADDRESS, else one process)",
    )
    add("--num_processes", help="multi-process runs: how many processes take part (default: $JAX_NUM_PROCESSES)")
    add(
        "--process_id",
        help="multi-process runs: this process's number, 0 .. num_processes - 1 (default: $JAX_PROCESS_ID)",
    )
    return parser


def train_main(argv: list[str]) -> int:
    # jax.distributed must start before anything touches JAX's devices (choosing the preset does)
    early, _ = train_parser(preset=None).parse_known_args(argv)
    initialize(early.coordinator_address, early.num_processes, early.process_id)
    say = print if is_main_process() else lambda *_: None
    machine_preset = default_preset()
    args = train_parser(machine_preset).parse_args(argv)
    model_flags, train_flags = given_flags(args, MODEL_FLAGS, ("preset", *COMMAND_FLAGS, *DISTRIBUTED_FLAGS))
    preset = args.preset or machine_preset
    init_from = train_flags.get("init_from", "scratch")
    notes = [f"allocator: {describe()}"]  # said once the run's checks have passed, so bad input gets one line alone
    if init_from not in ("scratch", "resume"):
        recipe = FINETUNE_RECIPE
        notes.append(f"fine-tuning {init_from} with nanoGPT's finetune_shakespeare recipe (flags override it)")
    else:
        recipe = TRAIN_RECIPES.get(preset, {})
        if init_from == "resume":
            recipe = run_settings(recipe, train_flags)
        elif args.preset is None:
            notes.append(
                f"no --preset given: training {preset}, chosen for this {jax.default_backend().upper()} machine"
            )
    settings, batch_note = fit_recipe_to_devices({**recipe, **train_flags}, train_flags, jax.device_count())
    notes.extend([batch_note] if batch_note else [])
    train_config = TrainConfig(**settings)
    model_config = GPTConfig.from_preset(preset, **model_flags)
    use_compilation_cache(args.compilation_cache)

    def echo(*message):
        while notes:
            say(notes.pop(0))
        say(*message)

    result = train(
        train_config,
        model_config,
        echo=echo,
        model_overrides=model_flags,
        move_old_run=args.move_old_run,
        sample_tokens=300,
    )
    if result.sample is not None:  # None: eval_only, or another process than 0 in a multi-process run
        print(f"best val loss {result.best_val_loss:.4f}; checkpoints in {train_config.out_dir}\n---------------")
        print(result.sample)
    return 0
