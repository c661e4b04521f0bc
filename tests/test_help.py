"""--help teaches: every flag of every script says what it does and its default, and a flag with a
fixed set of values lists them."""

import dataclasses
import pathlib

import pytest

from jaxgpt.cli.bench import bench_parser
from jaxgpt.cli.codealong import codealong_parser
from jaxgpt.cli.eval import eval_parser
from jaxgpt.cli.explore import explore_parser
from jaxgpt.cli.prepare import prepare_parser
from jaxgpt.cli.sample import sample_parser
from jaxgpt.cli.train import train_parser
from jaxgpt.cli.train_seq2seq import seq2seq_parser
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.positional import POSITIONS
from jaxgpt.settings import choices_of, help_of
from jaxgpt.training.config import TrainConfig
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
    "codealong_vs_torch.py": codealong_parser,
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


def test_each_setting_is_described_once_beside_its_field_and_named_in_the_readme():
    """The help line, the type and the choices of a flag are the field's own (jaxgpt.settings): the
    parser reads them; the README's list of flags names every setting."""
    readme = " ".join((ROOT / "README.md").read_text().split())
    parser = train_parser(default_preset())
    actions = {action.dest: action for action in parser._actions}
    model_flags = (
        "block_size",
        "n_layer",
        "n_head",
        "n_embd",
        "dropout",
        "bias",
        "position",
        "attention_impl",
        "remat",
    )
    fields = [*dataclasses.fields(TrainConfig), *(f for f in dataclasses.fields(GPTConfig) if f.name in model_flags)]
    for field in fields:
        assert help_of(field) and actions[field.name].help.startswith(help_of(field)), field.name
        assert actions[field.name].choices == choices_of(field), field.name
        assert field.name in readme, f"the README does not name --{field.name}"
    assert actions["max_iters"].type("30") == 30 and actions["learning_rate"].type("1e-3") == 1e-3
    assert actions["decay_lr"].type("False") is False and actions["data_file"].type("x.txt") == "x.txt"
    assert actions["position"].choices == tuple(POSITIONS)  # the table of position encodings
