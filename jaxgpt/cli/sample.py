"""scripts/sample.py: text from a trained checkpoint or GPT-2's weights (nanoGPT's sample.py)."""

from __future__ import annotations

import pathlib

import jax

from jaxgpt.cli.flags import parse_bool, parse_checkpoint
from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.data.tokenizer import BPETokenizer
from jaxgpt.decoding.generate import check_sampling, generate
from jaxgpt.errors import InputError
from jaxgpt.model.gpt import GPT
from jaxgpt.model.params import cast_params
from jaxgpt.model.pretrained import GPT2_REPOS, load_gpt2
from jaxgpt.training.devices.precision import DTYPES
from jaxgpt.training.run.restore import restore_model


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
        "--dtype",
        choices=list(DTYPES),
        default="float32",
        help="the weights' dtype while sampling: bfloat16 halves the bytes each token reads (about twice "
        "the tokens/s where reading the weights is the limit, as for GPT-2 on a CPU); logits are sampled in "
        "float32 (default: %(default)s)",
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
            raise InputError(f"prompt file {path} does not exist: pass --start FILE:path to a text file")
        try:
            start = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise InputError(f"prompt file {path} cannot be read as UTF-8 text ({error}): pass another file") from None
    if not start:
        raise InputError("the prompt is empty: pass --start with at least one character")
    return start


def sample_main(argv: list[str]) -> int:
    args = sample_parser().parse_args(argv)
    # every flag is checked before a checkpoint is read
    if args.num_samples < 1:
        raise InputError(f"--num_samples={args.num_samples} must be >= 1")
    check_sampling(args.max_new_tokens, args.temperature, args.top_k, args.top_p)
    start = _read_prompt(args.start)
    checkpoint = parse_checkpoint(args.checkpoint)
    if args.init_from == "resume":
        model, params, tokenizer, meta = restore_model(args.out_dir, checkpoint)
        val_loss = "" if meta.get("val_loss") is None else f" (val loss {meta['val_loss']:.4f})"
        source = f"iteration {meta['iter']} of {args.out_dir}{val_loss}"
    else:
        config, params = load_gpt2(args.init_from)
        model, tokenizer, source = GPT(config), BPETokenizer.gpt2(), args.init_from
    prompt = tokenizer.encode(start)
    if len(prompt) > model.config.block_size:
        raise InputError(
            f"the prompt has {len(prompt)} tokens, more than the model's block_size={model.config.block_size}: "
            "shorten it"
        )
    params = cast_params(params, DTYPES[args.dtype])
    print(f"sampling from {source}" + (f", weights in {args.dtype}" if args.dtype != "float32" else ""))
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
