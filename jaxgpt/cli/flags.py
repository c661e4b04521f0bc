"""Command-line flags: one --flag per config field (nanoGPT's names: --name=value or --name value),
its type, help line and values read from the field itself (jaxgpt.settings); the parser that
says an error in one line is jaxgpt.cli.run's."""

from __future__ import annotations

import argparse
import dataclasses
import typing

from jaxgpt.errors import InputError
from jaxgpt.settings import choices_of, help_of
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import fit_batch_to_devices
from jaxgpt.training.run.folder import RunDir


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


def flag_type(annotation):
    """The parser of a config field's values: its type (int, float, str), bool as True/False, and
    `X | None` as X (a flag that is given has a value)."""
    options = [a for a in typing.get_args(annotation) if a is not type(None)] or [annotation]
    return parse_bool if options[0] is bool else options[0]


def add_config_flags(parser, cls, defaults, names=None) -> None:
    """One --flag per field of the dataclass `cls` (or of `names`), its help and values from the
    field's own description (jaxgpt.settings) and its default shown as `defaults` has it (the
    preset's or recipe's, not the dataclass's)."""
    types = typing.get_type_hints(cls)
    for field in dataclasses.fields(cls):
        if names is None or field.name in names:
            choices = choices_of(field)
            kind = flag_type(types[field.name])
            parser.add_argument(
                f"--{field.name}",
                type=kind,
                default=None,
                choices=choices,
                metavar="{" + ",".join(choices) + "}"
                if choices
                else ("bool" if kind is parse_bool else kind.__name__).upper(),
                help=f"{help_of(field)} (default: {getattr(defaults, field.name)})",
            )


# the trainers' flags that are not settings of the run (not in config.json): how this command runs
COMMAND_FLAGS = {
    "move_old_run": (
        False,
        "True: if out_dir holds another run, rename its folder to OUT_DIR.old-N first (nothing is deleted); "
        "False: stop and say so",
    ),
    "compilation_cache": (True, "keep compiled steps on disk ($JAXGPT_CACHE_DIR/jit) so later runs start faster"),
}


def add_command_flags(parser) -> None:
    """--move_old_run and --compilation_cache, True or False."""
    for name, (default, help) in COMMAND_FLAGS.items():
        parser.add_argument(
            f"--{name}", type=parse_bool, default=default, metavar="BOOL", help=f"{help} (default: {default})"
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
