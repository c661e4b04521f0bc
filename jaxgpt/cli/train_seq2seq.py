"""scripts/train_seq2seq.py: train the encoder-decoder Transformer on a synthetic task, then score
exact match on held-out sources, greedy and by beam search."""

from __future__ import annotations

import jax

from jaxgpt.cli.flags import (
    COMMAND_FLAGS,
    add_command_flags,
    add_config_flags,
    fit_recipe_to_devices,
    given_flags,
    run_settings,
)
from jaxgpt.cli.run import OneLineErrorParser, use_compilation_cache
from jaxgpt.data.tasks import TASKS
from jaxgpt.errors import InputError
from jaxgpt.model.config import TRANSFORMER_PRESETS, TransformerConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.distributed import is_main_process
from jaxgpt.training.recipes import SEQ2SEQ_RECIPE
from jaxgpt.training.train_seq2seq import train_seq2seq

SEQ2SEQ_MODEL_FLAGS = (
    "n_encoder_layer",
    "n_decoder_layer",
    "n_head",
    "d_model",
    "d_ff",
    "dropout",
    "norm_first",
    "attention_impl",
)


def seq2seq_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="train_seq2seq.py",
        description="Train the encoder-decoder Transformer on a synthetic task, then report exact-match "
        "accuracy on held-out sources (same flags as train.py where they apply).",
    )
    parser.add_argument(
        "--task",
        choices=list(TASKS),
        default="reverse",
        help="copy, reverse or sort digit strings, or words: digits spelled out to digits (default: %(default)s)",
    )
    parser.add_argument(
        "--preset",
        choices=list(TRANSFORMER_PRESETS),
        default="transformer-tiny",
        help="model size: transformer-tiny (2+2 layers, 64 wide), transformer-base or transformer-big, the "
        "paper's (default: %(default)s)",
    )
    parser.add_argument(
        "--beam_size", type=int, default=4, help="beams for the final beam-search score, >= 1 (default: %(default)s)"
    )
    parser.add_argument(
        "--num_examples", type=int, default=500, help="held-out sources to score at the end, >= 1 (default: 500)"
    )
    add_config_flags(parser, TrainConfig, TrainConfig(**SEQ2SEQ_RECIPE))
    add_config_flags(parser, TransformerConfig, TransformerConfig.from_preset("transformer-tiny"), SEQ2SEQ_MODEL_FLAGS)
    add_command_flags(parser)
    return parser


def seq2seq_main(argv: list[str]) -> int:
    args = seq2seq_parser().parse_args(argv)
    for name in ("beam_size", "num_examples"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name}={getattr(args, name)} must be >= 1")
    not_config = ("task", "preset", "beam_size", "num_examples", *COMMAND_FLAGS)
    model_flags, train_flags = given_flags(args, SEQ2SEQ_MODEL_FLAGS, not_config)
    model_config = TransformerConfig.from_preset(args.preset, **model_flags)
    recipe = run_settings(SEQ2SEQ_RECIPE, train_flags) if train_flags.get("init_from") == "resume" else SEQ2SEQ_RECIPE
    settings, batch_note = fit_recipe_to_devices({**recipe, **train_flags}, train_flags, jax.device_count())
    if batch_note and is_main_process():
        print(batch_note)
    config = TrainConfig(**settings)
    use_compilation_cache(args.compilation_cache)
    result = train_seq2seq(
        config,
        args.task,
        model_config,
        move_old_run=args.move_old_run,
        exact_match_examples=args.num_examples,
        beam_size=args.beam_size,
    )
    if result.exact_match is None:  # eval_only
        return 0
    scores, examples = result.exact_match
    greedy, beam = scores["exact_match_greedy"], scores[f"exact_match_beam{args.beam_size}"]
    print(
        f"{result.task.name}: exact match on {args.num_examples} held-out sources: greedy {100 * greedy:.1f}%, "
        f"beam {args.beam_size} {100 * beam:.1f}%"
    )
    print(examples)
    return 0
