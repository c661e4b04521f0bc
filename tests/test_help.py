"""--help teaches: every flag of every script says what it does and its default, and a flag with a
fixed set of values lists them."""

import pathlib

import pytest

from jaxgpt.cli.bench import bench_parser
from jaxgpt.cli.eval import eval_parser
from jaxgpt.cli.explore import explore_parser
from jaxgpt.cli.prepare import prepare_parser
from jaxgpt.cli.sample import sample_parser
from jaxgpt.cli.train import train_parser
from jaxgpt.cli.train_seq2seq import seq2seq_parser
from jaxgpt.training.recipes import default_preset

ROOT = pathlib.Path(__file__).resolve().parents[1]


PARSERS = {
    "train.py": lambda: train_parser(default_preset()),
    "sample.py": sample_parser,
    "train_seq2seq.py": seq2seq_parser,
    "prepare.py": prepare_parser,
    "eval.py": eval_parser,
    "explore.py": explore_parser,
    "bench.py": bench_parser,
}


@pytest.mark.parametrize("script", PARSERS)
def test_every_flag_says_what_it_does_its_default_and_its_values(script):
    parser = PARSERS[script]()
    flags = [action for action in parser._actions if action.option_strings != ["-h", "--help"]]
    assert len(flags) >= 3
    for action in flags:
        text = (action.help or "") % {"default": action.default}
        what, _, default = text.partition("(default")
        assert len(what.split()) >= 2, f"{script} {action.option_strings[0]}: no description"
        assert default or "(required)" in what, f"{script} {action.option_strings[0]}: no default shown"
        if action.choices:
            shown = parser.format_help()
            assert all(str(choice) in shown for choice in action.choices)


def test_train_help_names_the_accepted_values_of_open_flags():
    text = train_parser(default_preset()).format_help()
    for words in ("scratch, resume", "gpt2-xl", "shakespeare_char or shakespeare", "data=N or data=N,fsdp=M"):
        assert words in " ".join(text.split()), words
    for closed in (
        "{auto,float32,bfloat16,float16}",
        "{cosine,noam}",
        "{learned,sinusoidal,rotary}",
        "{manual,xla,cudnn}",
    ):
        assert closed in text, closed
