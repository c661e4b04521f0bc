"""scripts/train.py and scripts/sample.py: a real run end to end, and one-line errors for bad input."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

from jaxgpt.cli import run, sample_main, train_main

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY_FLAGS = ["--n_layer=1", "--n_head=2", "--n_embd=32", "--block_size=32", "--batch_size=4", "--eval_iters=2"]


def script(name, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, shakespeare_path):
    out_dir = tmp_path_factory.mktemp("run") / "out"
    result = script(
        "train.py",
        f"--data_file={shakespeare_path}",
        "--out_dir",
        str(out_dir),
        "--max_iters=30",
        "--eval_interval=10",
        "--log_interval=5",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out_dir, result


def test_training_writes_config_metrics_curve_and_prints_a_sample(trained_run):
    out_dir, result = trained_run
    assert "no --preset given: training shakespeare-char-cpu" in result.stdout
    assert "step 30: train loss" in result.stdout and "30/30" in result.stderr  # the bar is on stderr
    config = json.loads((out_dir / "config.json").read_text())
    assert (
        config["model"]["n_embd"] == 32 and config["model"]["vocab_size"] == 65 and config["train"]["max_iters"] == 30
    )
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    evaluations = [r for r in records if "val_loss" in r]
    assert [r["iter"] for r in steps] == [5, 10, 15, 20, 25, 30]
    assert [r["iter"] for r in evaluations] == [0, 10, 20, 30]
    assert {"iter", "loss", "lr", "ms_per_iter", "tokens_per_sec", "mfu"} <= set(steps[0])
    assert {"iter", "train_loss", "val_loss", "lr"} <= set(evaluations[1])
    assert evaluations[-1]["val_loss"] < evaluations[0]["val_loss"]
    assert (out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "best val loss" in result.stdout and len(result.stdout.split("---------------")[-1].strip()) > 100


def test_sampling_is_seeded_and_reads_prompt_files(trained_run, tmp_path):
    out_dir, _ = trained_run
    args = ["--out_dir", str(out_dir), "--num_samples=2", "--max_new_tokens=40", "--seed=7"]
    first = script("sample.py", *args, "--start", "ROMEO:")
    assert first.returncode == 0, first.stderr[-2000:]
    header, body = first.stdout.split("\n", 1)
    assert header.startswith("sampling from iteration 30 of")  # "best" is the last: val loss fell each time
    samples = body.split("---------------")[:2]
    assert all(sample.strip().startswith("ROMEO:") for sample in samples) and samples[0] != samples[1]
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("ROMEO:")
    from_file = script("sample.py", *args, "--start", f"FILE:{prompt}")
    assert from_file.stdout == first.stdout  # same seed, same prompt: same text


def test_errors_from_the_real_script_are_one_line_without_traceback(tmp_path):
    result = script("sample.py", "--out_dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sample.py: error: {tmp_path / 'nowhere'} does not exist: train first, or pass the --out_dir of a training run"
    ]


def run_main(monkeypatch, capsys, main, *argv):
    monkeypatch.setattr(sys, "argv", ["script.py", *argv])
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return exit_info.value.code, lines[0]


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--bogus=1"], "unrecognized arguments: --bogus=1"),
        (["--n_layer=two"], "argument --n_layer: invalid int value: 'two'"),
        (["--bias=maybe"], "argument --bias: expected True or False, got 'maybe'"),
        (["--preset=gpt5"], "argument --preset: invalid choice: 'gpt5'"),
        (["--n_embd=100", "--n_head=3"], "n_embd=100 is not divisible by n_head=3"),
        (["--learning_rate=-1"], "learning_rate=-1.0 must be > 0"),
        (["--data_file=/no/such.txt"], "data file /no/such.txt does not exist"),
        (["--batch_size=3", "--data_file=SHAKESPEARE"], "batch_size=3 is not divisible by the 2 devices of the mesh"),
        (["--init_from=resume", "--out_dir=EMPTY"], "--init_from resume: no checkpoint in"),
        (["--mesh=data=3", "--data_file=SHAKESPEARE"], "--mesh 'data=3' needs 3 devices, but 2 are present"),
        (["--mesh=model=2", "--data_file=SHAKESPEARE"], "write it as data=N or data=N,fsdp=M"),
    ],
)
def test_bad_training_input_is_one_line_and_exit_code_2(monkeypatch, capsys, tmp_path, shakespeare_path, argv, message):
    argv = [a.replace("SHAKESPEARE", str(shakespeare_path)).replace("EMPTY", str(tmp_path / "empty")) for a in argv]
    code, line = run_main(monkeypatch, capsys, train_main, f"--out_dir={tmp_path / 'out'}", *argv)
    assert code == 2 and message in line


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--start=ROMEO: ☃"], "1 character(s) outside the tokenizer's 65-character vocabulary: '☃'"),
        (["--start=" + "a" * 33], "the prompt has 33 tokens, more than the model's block_size=32"),
        (["--max_new_tokens=-5"], "max_new_tokens=-5 must be an integer >= 0"),
        (["--start=FILE:/no/prompt.txt"], "prompt file /no/prompt.txt does not exist"),
        (["--checkpoint=newest"], "--checkpoint='newest' must be best, latest or an iteration number"),
        (["--checkpoint=7"], "no checkpoint for step 7"),
    ],
)
def test_bad_sampling_input_is_one_line_and_exit_code_2(monkeypatch, capsys, trained_run, argv, message):
    out_dir, _ = trained_run
    code, line = run_main(monkeypatch, capsys, sample_main, f"--out_dir={out_dir}", *argv)
    assert code == 2 and message in line
