"""scripts/prepare.py: a corpus (text, .jsonl or Parquet files, plain or compressed; files, folders
or globs; or a Hugging Face dataset by name) into token files (train.bin, val.bin, meta.json) for
--dataset FOLDER, streamed in bounded memory (jaxgpt/data/corpus/)."""

from __future__ import annotations

import argparse

from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.data.corpus.hub import HubDataset
from jaxgpt.data.corpus.prepare import prepare_corpus
from jaxgpt.data.sources import download_shakespeare
from jaxgpt.errors import reported_os_errors


def fraction_or_count(value: str) -> float:
    number = float(value)
    if not (0 < number < 1 or (number >= 1 and number.is_integer())):
        raise argparse.ArgumentTypeError(f"{value}: give a fraction between 0 and 1 or a whole number of documents")
    return number


def at_least_one(value: str) -> int:
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"{value}: give a whole number from 1 up")
    return int(value)


def prepare_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="prepare.py",
        description="Turn a corpus into token files (train.bin, val.bin, meta.json) for --dataset FOLDER.",
    )
    corpus = parser.add_mutually_exclusive_group()
    corpus.add_argument(
        "--data_file",
        nargs="+",
        default=None,
        help="text, .jsonl or .parquet files (also .gz / .zst), folders (read recursively) or globs, read in "
        "sorted order (default: tiny Shakespeare)",
    )
    corpus.add_argument(
        "--hf_dataset",
        default=None,
        help="a Hugging Face dataset by name (e.g. HuggingFaceFW/fineweb-edu), streamed row by row instead of "
        '--data_file; needs pip install -e ".[datasets]" (default: none)',
    )
    parser.add_argument(
        "--hf_config", default=None, help="--hf_dataset's configuration, e.g. sample-10BT (default: none)"
    )
    parser.add_argument("--split", default="train", help="--hf_dataset's split (default: %(default)s)")
    parser.add_argument(
        "--out_dir", required=True, help="the folder to write; it must not hold prepared data yet (required)"
    )
    parser.add_argument(
        "--tokenizer",
        choices=["gpt2", "char"],
        default="gpt2",
        help="gpt2: GPT-2's BPE (for fine-tuning GPT-2); char: one token per character (default: %(default)s)",
    )
    parser.add_argument(
        "--text_field",
        default="text",
        help="the field (.jsonl) or column (.parquet) of the text (default: %(default)s)",
    )
    parser.add_argument(
        "--val_fraction",
        type=fraction_or_count,
        default=0.1,
        help="the validation split: one document (a text file) splits by tokens, several by documents, the "
        "last ones: a fraction, or a count from 1 up (default: %(default)s)",
    )
    parser.add_argument(
        "--num_proc",
        type=at_least_one,
        default=None,
        help="worker processes that tokenize (default: every core of this machine)",
    )
    return parser


def prepare_main(argv: list[str]) -> int:
    args = prepare_parser().parse_args(argv)
    if args.hf_dataset:
        inputs = HubDataset(args.hf_dataset, args.hf_config, args.split)
    else:
        inputs = args.data_file or [str(download_shakespeare())]
    with reported_os_errors(f"write the prepared data in {args.out_dir}", "choose another --out_dir"):
        prepared = prepare_corpus(
            inputs, args.out_dir, args.tokenizer, args.text_field, args.val_fraction, args.num_proc
        )
    source = f"of {inputs}" if args.hf_dataset else f"in {prepared.files:,} file(s)"
    print(
        f"{prepared.train_tokens:,} train and {prepared.val_tokens:,} val tokens ({prepared.vocab_size:,}-token "
        f"vocabulary) from {prepared.documents:,} document(s) {source}, in {prepared.seconds:.1f} s, "
        f"in {prepared.folder}"
    )
    return 0
