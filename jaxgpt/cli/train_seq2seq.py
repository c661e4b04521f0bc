"""scripts/train_seq2seq.py: train the encoder-decoder Transformer on a synthetic task, then score
exact match on held-out sources, greedy and by beam search."""

from __future__ import annotations

import jax

from jaxgpt.cli.flags import (
    OneLineErrorParser,
    add_config_flags,
    add_move_old_run_flag,
    fit_recipe_to_devices,
    given_flags,
    run_settings,
)
from jaxgpt.cli.run import use_compilation_cache
from jaxgpt.errors import InputError
from jaxgpt.model.config import TRANSFORMER_PRESETS, TransformerConfig
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.distributed import is_main_process
from jaxgpt.training.metrics import MetricsLog
from jaxgpt.training.recipes import SEQ2SEQ_RECIPE
from jaxgpt.training.tasks import TASKS
from jaxgpt.training.train_seq2seq import exact_match, train_seq2seq

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
    add_move_old_run_flag(parser)
    return parser


def seq2seq_main(argv: list[str]) -> int:
    args = seq2seq_parser().parse_args(argv)
    for name in ("beam_size", "num_examples"):
        if getattr(args, name) < 1:
            raise InputError(f"--{name}={getattr(args, name)} must be >= 1")
    not_config = ("task", "preset", "beam_size", "num_examples", "move_old_run")
    model_flags, train_flags = given_flags(args, SEQ2SEQ_MODEL_FLAGS, not_config)
    model_config = TransformerConfig.from_preset(args.preset, **model_flags)
    recipe = run_settings(SEQ2SEQ_RECIPE, train_flags) if train_flags.get("init_from") == "resume" else SEQ2SEQ_RECIPE
    settings, batch_note = fit_recipe_to_devices({**recipe, **train_flags}, train_flags, jax.device_count())
    if batch_note and is_main_process():
        print(batch_note)
    config = TrainConfig(**settings)
    use_compilation_cache(config.compilation_cache)
    result = train_seq2seq(config, args.task, model_config, move_old_run=args.move_old_run)
    if config.eval_only:
        return 0
    model, params = Transformer(result.model_config), result.state.params
    greedy, examples = exact_match(model, params, result.task, args.num_examples, config.seed)
    beam, _ = exact_match(model, params, result.task, args.num_examples, config.seed, args.beam_size)
    print(
        f"{result.task.name}: exact match on {args.num_examples} held-out sources: greedy {100 * greedy:.1f}%, "
        f"beam {args.beam_size} {100 * beam:.1f}%"
    )
    if is_main_process():  # the held-out accuracy in TensorBoard too, at the last iteration
        log = MetricsLog(config.out_dir)
        log.tensorboard.scalar("eval/exact_match_greedy", greedy, int(result.state.step))
        log.tensorboard.scalar(f"eval/exact_match_beam{args.beam_size}", beam, int(result.state.step))
        log.close()
    for source, expected, decoded in examples[:5]:
        print(f"  {source!r} -> {decoded!r} ({'right' if decoded == expected else f'expected {expected!r}'})")
    return 0
