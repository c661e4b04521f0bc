"""scripts/explore.py: the attention explorer of a trained run, one self-contained HTML page."""

from __future__ import annotations

import pathlib

from jaxgpt.cli.flags import parse_checkpoint
from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.errors import InputError
from jaxgpt.study.explorer import GENERATOR, write_attention_explorer
from jaxgpt.training.run.restore import restore_model


def explore_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="explore.py",
        description="Write an HTML page to explore a trained GPT's attention, layer by layer and head by head: "
        "click a token to see its weights over the earlier tokens and the model's next-token guesses.",
    )
    add = parser.add_argument
    add("--out_dir", default="out-shakespeare-char", help="the training run's folder (default: %(default)s)")
    add("--text", default="ROMEO: But soft, what light", help='the text to explore (default: "%(default)s")')
    add("--checkpoint", default="best", help="best, latest, or an iteration number (default: %(default)s)")
    add(
        "--output",
        default=None,
        help="the page to write; an existing file is replaced only if an earlier explore.py wrote it "
        "(default: OUT_DIR/explorer.html)",
    )
    return parser


def explore_main(argv: list[str]) -> int:
    args = explore_parser().parse_args(argv)
    if not args.text:
        raise InputError("--text is empty: give the text whose attention to explore")
    output = pathlib.Path(args.output) if args.output else pathlib.Path(args.out_dir) / "explorer.html"
    if output.exists() and GENERATOR not in output.read_text(encoding="utf-8", errors="replace")[:2000]:
        raise InputError(f"{output} exists and is not a page explore.py wrote: choose another --output")
    checkpoint = parse_checkpoint(args.checkpoint)
    model, params, tokenizer, _ = restore_model(args.out_dir, checkpoint)
    path = write_attention_explorer(output, model, params, tokenizer, args.text)
    print(f"wrote {path}: open it in a browser (no server needed)")
    return 0
