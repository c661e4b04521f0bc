"""The command lines of scripts/train.py, scripts/sample.py and scripts/prepare.py: nanoGPT's
flag names in, one-line errors out (exit code 2 for bad input, 1 when training has to stop)."""

from __future__ import annotations

import dataclasses
import os
import pathlib
import sys

import jax
import numpy as np
from jax.experimental import multihost_utils

from jaxgpt.training.checkpoint import CheckpointError
from jaxgpt.model.config import GPT_PRESETS, TRANSFORMER_PRESETS, GPTConfig, TransformerConfig
from jaxgpt.training.data import DataError, Dataset, load_text
from jaxgpt.training.distributed import initialize, is_main_process
from jaxgpt.cli.flags import OneLineErrorParser, add_config_flags, add_move_old_run_flag, parse_bool
from jaxgpt.decoding.generate import check_sampling, generate
from jaxgpt.model.gpt import GPT
from jaxgpt.training.interrupt import TrainingInterrupted
from jaxgpt.model.pretrained import GPT2_REPOS, PretrainedError, load_gpt2
from jaxgpt.training.run_dir import RunDir
from jaxgpt.training.train_seq2seq import SEQ2SEQ_RECIPE, exact_match, train_seq2seq
from jaxgpt.training.tasks import TASKS
from jaxgpt.training.tokenizer import BPETokenizer, TokenizerError
from jaxgpt.training.train_gpt import (
    FINETUNE_RECIPE,
    TRAIN_RECIPES,
    TrainConfig,
    TrainingError,
    default_preset,
    restore_model,
    train,
)

MODEL_FLAGS = ("block_size", "n_layer", "n_head", "n_embd", "dropout", "bias", "position", "attention_impl", "remat")


DISTRIBUTED_FLAGS = ("coordinator_address", "num_processes", "process_id")


def _add_distributed_flags(parser) -> None:
    add = parser.add_argument
    add(
        "--coordinator_address",
        help="multi-process runs: process 0's host:port, or auto to let JAX find it (TPU pods, SLURM, Open MPI) "
        "(default: $JAX_COORDINATOR_ADDRESS, else one process)",
    )
    add(
        "--num_processes",
        help="multi-process runs: how many processes take part (default: $JAX_NUM_PROCESSES)",
    )
    add(
        "--process_id",
        help="multi-process runs: this process's number, 0 .. num_processes - 1 (default: $JAX_PROCESS_ID)",
    )


def _join_processes(argv: list[str]) -> None:
    """jax.distributed must start before anything touches JAX's devices, so read its flags first."""
    early = OneLineErrorParser(prog="train.py", add_help=False)
    _add_distributed_flags(early)
    flags, _ = early.parse_known_args(argv)
    initialize(flags.coordinator_address, flags.num_processes, flags.process_id)


def train_parser(preset: str) -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="train.py",
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
    add_config_flags(parser, GPTConfig, GPTConfig.from_preset(preset), MODEL_FLAGS)
    add_move_old_run_flag(parser)
    _add_distributed_flags(parser)
    return parser


def train_main(argv: list[str]) -> int:
    _join_processes(argv)
    say = print if is_main_process() else lambda *_: None
    machine_preset = default_preset()
    args = train_parser(machine_preset).parse_args(argv)
    not_config = ("preset", "move_old_run", *DISTRIBUTED_FLAGS)
    given = {name: value for name, value in vars(args).items() if value is not None and name not in not_config}
    model_flags = {k: v for k, v in given.items() if k in MODEL_FLAGS}
    train_flags = {k: v for k, v in given.items() if k not in MODEL_FLAGS}
    preset = args.preset or machine_preset
    init_from = train_flags.get("init_from", "scratch")
    notes = []  # said once the run's checks have passed, so bad input gets one line alone
    if init_from not in ("scratch", "resume"):
        recipe = FINETUNE_RECIPE
        notes.append(f"fine-tuning {init_from} with nanoGPT's finetune_shakespeare recipe (flags override it)")
    else:
        recipe = TRAIN_RECIPES.get(preset, {})
        if init_from == "resume":
            recipe = _run_settings(recipe, train_flags)
        elif args.preset is None:
            notes.append(
                f"no --preset given: training {preset}, chosen for this {jax.default_backend().upper()} machine"
            )
    train_config = TrainConfig(**{**recipe, **train_flags})
    model_config = GPTConfig.from_preset(preset, **model_flags)

    def echo(*message):
        while notes:
            say(notes.pop(0))
        say(*message)

    result = train(train_config, model_config, echo=echo, model_overrides=model_flags, move_old_run=args.move_old_run)
    if train_config.eval_only:
        return 0
    params = result.state.params
    if jax.process_count() > 1:  # every process hands over its pieces; process 0 alone samples
        params = multihost_utils.process_allgather(params, tiled=True)
        if not is_main_process():
            return 0
    tokens = generate(
        GPT(result.model_config),
        params,
        _start_tokens(result.tokenizer)[None, :],
        300,
        rng=jax.random.key(train_config.seed),
        temperature=0.8,
        top_k=200,
    )
    print(f"best val loss {result.best_val_loss:.4f}; checkpoints in {train_config.out_dir}\n---------------")
    print(result.tokenizer.decode(tokens[0]))
    return 0


def _run_settings(recipe: dict, flags: dict) -> dict:
    """Resuming: the run's own training settings (its config.json) are the defaults that flags
    override, so `--init_from resume` alone continues the run as it was started."""
    out_dir = flags.get("out_dir", recipe.get("out_dir", TrainConfig.out_dir))
    config = RunDir(out_dir).read_config()
    if config is None:  # a folder without config.json: resume fails with its own message, or a run of old
        return recipe
    names = {field.name for field in dataclasses.fields(TrainConfig)} - {"init_from", "eval_only"}
    return {name: value for name, value in config.get("train", {}).items() if name in names}


def _start_tokens(tokenizer):
    """A newline to start the closing sample from, or the first token if the text had none."""
    try:
        return tokenizer.encode("\n")
    except ValueError:
        return np.zeros((1,), np.int32)


def sample_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="sample.py", description="Generate text from a trained checkpoint (nanoGPT's sample.py)."
    )
    add = parser.add_argument
    add(
        "--init_from",
        default="resume",
        help=f"resume (the checkpoint of a training run in --out_dir), {', '.join(GPT2_REPOS)}, or a folder or "
        ".safetensors file of GPT-2 weights in Hugging Face's layout (default: %(default)s)",
    )
    add("--out_dir", default="out-shakespeare-char", help="the training run's folder (default: %(default)s)")
    add(
        "--checkpoint",
        default="best",
        help="best (lowest val loss), latest, or an iteration number; a damaged best or latest falls back to the "
        "next checkpoint that verifies (default: %(default)s)",
    )
    add("--start", default="\n", help='the prompt, or FILE:path to read it from a text file (default: "\\n")')
    add("--num_samples", type=int, default=10, help="how many samples to draw, >= 1 (default: %(default)s)")
    add("--max_new_tokens", type=int, default=500, help="tokens to add to the prompt, >= 0 (default: %(default)s)")
    add("--temperature", type=float, default=0.8, help="divides the logits; 0 is greedy (default: %(default)s)")
    add("--top_k", type=int, default=200, help="keep only the k most likely tokens, >= 1 (default: %(default)s)")
    add(
        "--top_p",
        type=float,
        default=None,
        help="keep the most likely tokens up to this probability mass, in (0, 1] (default: off)",
    )
    add(
        "--seed", type=int, default=1337, help="seeds the sampling: the same seed, the same text (default: %(default)s)"
    )
    add(
        "--use_cache",
        type=parse_bool,
        default=True,
        metavar="BOOL",
        help="KV cache: each new token costs one position's work; False recomputes the context (default: True)",
    )
    return parser


def _read_prompt(start: str) -> str:
    if start.startswith("FILE:"):
        path = pathlib.Path(start[len("FILE:") :])
        if not path.is_file():
            raise ValueError(f"prompt file {path} does not exist: pass --start FILE:path to a text file")
        start = path.read_text(encoding="utf-8")
    if not start:
        raise ValueError("the prompt is empty: pass --start with at least one character")
    return start


def sample_main(argv: list[str]) -> int:
    args = sample_parser().parse_args(argv)
    # every flag is checked before a checkpoint is read
    if args.num_samples < 1:
        raise ValueError(f"--num_samples={args.num_samples} must be >= 1")
    check_sampling(args.max_new_tokens, args.temperature, args.top_k, args.top_p)
    start = _read_prompt(args.start)
    checkpoint = int(args.checkpoint) if args.checkpoint.isdigit() else args.checkpoint
    if checkpoint not in ("best", "latest") and not isinstance(checkpoint, int):
        raise ValueError(f"--checkpoint={args.checkpoint!r} must be best, latest or an iteration number")
    if args.init_from == "resume":
        model, params, tokenizer, meta = restore_model(args.out_dir, checkpoint)
        val_loss = "" if meta.get("val_loss") is None else f" (val loss {meta['val_loss']:.4f})"
        source = f"iteration {meta['iter']} of {args.out_dir}{val_loss}"
    else:
        config, params = load_gpt2(args.init_from)
        model, tokenizer, source = GPT(config), BPETokenizer.gpt2(), args.init_from
    prompt = tokenizer.encode(start)
    if len(prompt) > model.config.block_size:
        raise ValueError(
            f"the prompt has {len(prompt)} tokens, more than the model's block_size={model.config.block_size}: "
            "shorten it"
        )
    print(f"sampling from {source}")
    rng = jax.random.key(args.seed)
    for i in range(args.num_samples):
        tokens = generate(
            model,
            params,
            prompt[None, :],
            args.max_new_tokens,
            rng=jax.random.fold_in(rng, i),
            temperature=args.temperature,
            top_k=args.top_k,
            top_p=args.top_p,
            use_cache=args.use_cache,
        )
        print(tokenizer.decode(tokens[0]))
        print("---------------")
    return 0


def prepare_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="prepare.py",
        description="Turn a text file into token files (train.bin, val.bin, meta.json) for --dataset FOLDER.",
    )
    parser.add_argument("--data_file", default=None, help="a UTF-8 text file (default: tiny Shakespeare)")
    parser.add_argument(
        "--out_dir", required=True, help="the folder to write; it must not hold prepared data yet (required)"
    )
    parser.add_argument(
        "--tokenizer",
        choices=["gpt2", "char"],
        default="gpt2",
        help="gpt2: GPT-2's BPE (for fine-tuning GPT-2); char: one token per character (default: %(default)s)",
    )
    return parser


def prepare_main(argv: list[str]) -> int:
    args = prepare_parser().parse_args(argv)
    existing = [name for name in Dataset.FILES if (pathlib.Path(args.out_dir) / name).exists()]
    if existing:
        raise ValueError(
            f"{args.out_dir} already holds prepared data ({', '.join(existing)}): choose another --out_dir"
        )
    text = load_text("shakespeare", args.data_file)
    data = Dataset.from_text(text, BPETokenizer.gpt2() if args.tokenizer == "gpt2" else None)
    folder = data.save(args.out_dir)
    print(
        f"{len(data.train):,} train and {len(data.val):,} val tokens ({data.tokenizer.vocab_size:,}-token "
        f"vocabulary) in {folder}"
    )
    return 0


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
            raise ValueError(f"--{name}={getattr(args, name)} must be >= 1")
    named = ("task", "preset", "beam_size", "num_examples", "move_old_run")
    given = {k: v for k, v in vars(args).items() if v is not None and k not in named}
    model_config = TransformerConfig.from_preset(
        args.preset, **{k: v for k, v in given.items() if k in SEQ2SEQ_MODEL_FLAGS}
    )
    train_flags = {k: v for k, v in given.items() if k not in SEQ2SEQ_MODEL_FLAGS}
    recipe = _run_settings(SEQ2SEQ_RECIPE, train_flags) if train_flags.get("init_from") == "resume" else SEQ2SEQ_RECIPE
    config = TrainConfig(**{**recipe, **train_flags})
    result = train_seq2seq(config, args.task, model_config, move_old_run=args.move_old_run)
    if config.eval_only:
        return 0
    params = result.state.params
    greedy, examples = exact_match(result.model_config, params, result.task, args.num_examples, config.seed)
    beam, _ = exact_match(result.model_config, params, result.task, args.num_examples, config.seed, args.beam_size)
    print(
        f"{result.task.name}: exact match on {args.num_examples} held-out sources: greedy {100 * greedy:.1f}%, "
        f"beam {args.beam_size} {100 * beam:.1f}%"
    )
    for source, expected, decoded in examples[:5]:
        print(f"  {source!r} -> {decoded!r} ({'right' if decoded == expected else f'expected {expected!r}'})")
    return 0


def run(main) -> None:
    """Run a script's main: known problems print one line and exit non-zero, without a traceback
    (set JAXGPT_DEBUG=1 to see one): 2 for bad input or a folder that cannot be used, 1 when
    training has to stop (a NaN), 130 / 143 after Ctrl-C / SIGTERM."""
    script = pathlib.Path(sys.argv[0]).name
    try:
        code = main(sys.argv[1:])
    except TrainingInterrupted as stop:
        print(f"{script}: {stop}", file=sys.stderr)
        code = stop.exit_code
    except KeyboardInterrupt:
        print(f"{script}: interrupted", file=sys.stderr)
        code = 130
    except (TrainingError, DataError, CheckpointError, PretrainedError, TokenizerError, ValueError, OSError) as error:
        if os.environ.get("JAXGPT_DEBUG"):
            raise
        print(f"{script}: error: {error}", file=sys.stderr)
        code = 1 if isinstance(error, TrainingError) else 2
    except jax.errors.JaxRuntimeError as error:  # out of device memory, a device lost
        if os.environ.get("JAXGPT_DEBUG"):
            raise
        print(f"{script}: error: {str(error).splitlines()[0]} (JAXGPT_DEBUG=1 shows the traceback)", file=sys.stderr)
        code = 1
    sys.exit(code)
