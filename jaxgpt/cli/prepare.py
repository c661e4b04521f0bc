"""scripts/prepare.py: a text file into token files (train.bin, val.bin, meta.json) for --dataset FOLDER."""

from __future__ import annotations

import pathlib

from jaxgpt.cli.flags import OneLineErrorParser
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sources import load_text
from jaxgpt.data.tokenizer import BPETokenizer
from jaxgpt.errors import InputError, reported_os_errors


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
        raise InputError(
            f"{args.out_dir} already holds prepared data ({', '.join(existing)}): choose another --out_dir"
        )
    text = load_text("shakespeare", args.data_file)
    data = Dataset.from_text(text, BPETokenizer.gpt2() if args.tokenizer == "gpt2" else None)
    with reported_os_errors(f"write the prepared data in {args.out_dir}", "choose another --out_dir"):
        folder = data.save(args.out_dir)
    print(
        f"{len(data.train):,} train and {len(data.val):,} val tokens ({data.tokenizer.vocab_size:,}-token "
        f"vocabulary) in {folder}"
    )
    return 0
