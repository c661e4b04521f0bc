"""The README works as written: it starts with the two commands, each Python example runs on its
own in a fresh interpreter, and every command line of its shell examples is one the scripts accept."""

import pathlib
import re
import shlex
import subprocess
import sys

import pytest

from jaxgpt.cli.eval import eval_parser
from jaxgpt.cli.explore import explore_parser
from jaxgpt.cli.prepare import prepare_parser
from jaxgpt.cli.sample import sample_parser
from jaxgpt.cli.train import train_parser
from jaxgpt.cli.train_seq2seq import seq2seq_parser
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.recipes import TRAIN_RECIPES, default_preset

ROOT = pathlib.Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NEEDS_INTERNET = "# needs internet"  # how an example that downloads begins; the tests never touch the network


def test_readme_starts_with_the_two_commands():
    first_block = README.read_text().split("```bash\n", 1)[1].split("```", 1)[0].splitlines()
    assert first_block[0].startswith("pip install -e . && python scripts/train.py")
    assert first_block[1].startswith('pip install -e ".[test]" && python -m pytest -q -n 3')
    ci_script = (ROOT / ".ci" / "run").read_text()
    # .ci/run runs the README's second command as written, after checking it is this one
    assert """expected='pip install -e ".[test]" && python -m pytest -q -n 3'""" in ci_script
    assert 'bash -c "$test_command"' in ci_script


def python_examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def test_each_python_example_runs_alone_in_a_fresh_interpreter(tmp_path):
    examples = [code for code in python_examples() if not code.startswith(NEEDS_INTERNET)]
    assert len(examples) >= 4 and len(python_examples()) - len(examples) == 1
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", code], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for code in examples
    ]
    printed = []
    for code, run in zip(examples, runs):
        stdout, stderr = run.communicate(timeout=300)
        assert run.returncode == 0, f"{code[:200]}...\n{stderr[-2000:]}"
        printed.append(stdout)
    assert "1557611200" in printed[0] and any("(1, 3, 30)" in stdout for stdout in printed)


def command_lines() -> list[list[str]]:
    """The argv of every `python scripts/NAME.py ...` in the README's shell examples."""
    lines = []
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(), re.S):
        for line in block.splitlines():
            for command in re.findall(r"python (scripts/\w+\.py[^&#]*)", line):
                lines.append(shlex.split(command))
    return lines


PARSERS = {
    "scripts/train.py": lambda: train_parser(default_preset()),
    "scripts/sample.py": sample_parser,
    "scripts/train_seq2seq.py": seq2seq_parser,
    "scripts/prepare.py": prepare_parser,
    "scripts/eval.py": eval_parser,
    "scripts/explore.py": explore_parser,
}


def test_every_command_line_in_the_readme_is_accepted():
    commands = [argv for argv in command_lines() if argv[0] != "scripts/bench.py"]  # bench: test_help.py
    assert len(commands) >= 15
    for script, *argv in commands:
        try:
            args = PARSERS[script]().parse_args(argv)
        except SystemExit:
            pytest.fail(f"the README's `{script} {' '.join(argv)}` is refused")
        if script == "scripts/train.py":  # and its values make a training and a model config
            given = {k: v for k, v in vars(args).items() if v is not None and k in TrainConfig.__dataclass_fields__}
            TrainConfig(**{**TRAIN_RECIPES.get(args.preset or default_preset(), {}), **given})
            model_flags = {k: v for k, v in vars(args).items() if v is not None and k in GPTConfig.__dataclass_fields__}
            GPTConfig.from_preset(args.preset or default_preset(), **model_flags)
