"""scripts/eval.py: a run's numbers from one checkpoint: whole-split losses, perplexity and bits
per character or token (GPT), or exact-match accuracy greedy and beam (encoder-decoder; greedy
alone for a GPT trained on a seq2seq task)."""

from __future__ import annotations

import json

from jaxgpt.cli.flags import parse_checkpoint
from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.errors import InputError
from jaxgpt.training.run_eval import evaluate_run


def eval_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="eval.py",
        description="Evaluate a training run's checkpoint: the loss on the whole train and validation splits, "
        "perplexity and bits per character or token; for encoder-decoder runs, exact-match accuracy.",
    )
    add = parser.add_argument
    add("--out_dir", default="out-shakespeare-char", help="the training run's folder (default: %(default)s)")
    add("--checkpoint", default="best", help="best, latest, or an iteration number (default: %(default)s)")
    add("--batch_size", type=int, default=64, help="windows per batch, >= 1 (default: %(default)s)")
    add(
        "--data_file",
        default=None,
        help="a copy of the text the run was trained on, when its dataset is not in $JAXGPT_CACHE_DIR "
        "(default: the run's own)",
    )
    add("--json", action="store_true", help="print the numbers as one JSON object (default: a table)")
    return parser


def eval_main(argv: list[str]) -> int:
    args = eval_parser().parse_args(argv)
    if args.batch_size < 1:
        raise InputError(f"--batch_size={args.batch_size} must be >= 1")
    checkpoint = parse_checkpoint(args.checkpoint)
    result = evaluate_run(args.out_dir, checkpoint, args.batch_size, args.data_file)
    if args.json:
        print(json.dumps(result))
    elif "task" in result:
        print(f"{args.out_dir}, iteration {result['iter']}, task {result['task']}, {result['n']} held-out sources")
        beam = f", beam {result['beam_size']} {100 * result['beam']:.1f} %" if "beam" in result else ""
        print(f"exact match: greedy {100 * result['greedy']:.1f} %{beam}")
    else:
        print(f"{args.out_dir}, iteration {result['iter']}: the whole splits, every {result['unit']} scored once")
        print(f"{'split':6s} {'loss':>8s} {'perplexity':>11s} {'bits/' + result['unit'][:4]:>10s} {'tokens':>10s}")
        for split in ("train", "val"):
            r = result[split]
            print(f"{split:6s} {r['loss']:8.4f} {r['perplexity']:11.3f} {r['bits']:10.4f} {r['tokens']:10,d}")
    return 0
