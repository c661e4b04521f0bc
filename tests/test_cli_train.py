"""scripts/train.py end to end: what a finished run writes and prints, what a failed save keeps,
and how `--init_from resume` alone continues a run."""

import json
import shutil
import sys

import pytest
from cli_runs import TINY_FLAGS, no_space_left, run_main

import jaxgpt.training.run.checkpoint as checkpoint_module
from jaxgpt.cli.run import run
from jaxgpt.cli.train import train_main
from jaxgpt.training.run.checksums import write_manifest
from jaxgpt.training.run.restore import restore_model

pytestmark = pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)


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
    assert {"iter", "loss", "lr", "grad_norm", "ms_per_iter", "tokens_per_sec", "mfu"} <= set(steps[0])
    assert all(0 < r["grad_norm"] < 100 for r in steps)  # the global norm before clipping, a real number
    # the same scalars in TensorBoard, read back with TensorBoard's own reader, and the closing sample
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [r["iter"] for r in steps]
    assert [e.step for e in events.Scalars("eval/val_loss")] == [r["iter"] for r in evaluations]
    assert {"train/learning_rate", "train/grad_norm", "train/param_norm", "speed/tokens_per_sec", "speed/mfu"} <= set(
        events.Tags()["scalars"]
    )
    sample = events.Tensors("sample/text_summary")[0]
    assert sample.step == 30 and len(sample.tensor_proto.string_val[0]) > 100
    assert {"iter", "train_loss", "val_loss", "lr"} <= set(evaluations[1])
    assert evaluations[-1]["val_loss"] < evaluations[0]["val_loss"]
    assert (out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "best val loss" in result.stdout and len(result.stdout.split("---------------")[-1].strip()) > 100


def test_a_save_that_fails_keeps_every_earlier_checkpoint(monkeypatch, capsys, tmp_path, shakespeare_path):
    """The disk fills at the second save: the first checkpoint stays complete and is named."""
    calls = []

    def fill_at_second_save(folder):
        calls.append(folder)
        if len(calls) == 2:
            raise no_space_left(folder)
        write_manifest(folder)

    monkeypatch.setattr(checkpoint_module, "write_manifest", fill_at_second_save)  # until this test ends
    out_dir = tmp_path / "disk-full"
    argv = [f"--data_file={shakespeare_path}", f"--out_dir={out_dir}", "--max_iters=8", "--eval_interval=4"]
    code, line = run_main(monkeypatch, capsys, train_main, *TINY_FLAGS, *argv)
    assert (
        code == 2
        and f"could not save checkpoint 8 in {out_dir} (no space left on device); checkpoint 4 is intact" in line
    )
    assert line.endswith("resume with --init_from resume")
    assert restore_model(out_dir, "latest")[3]["iter"] == 4


def test_resume_alone_continues_with_the_runs_own_settings(monkeypatch, capsys, trained_run, tmp_path):
    """The run was trained with batch 4 and evaluations every 10; the preset says 12 and 250."""
    run_dir = tmp_path / "run"
    shutil.copytree(trained_run[0], run_dir)  # resuming changes the run: a copy of it
    monkeypatch.setattr(sys, "argv", ["train.py", "--init_from=resume", f"--out_dir={run_dir}", "--max_iters=32"])
    with pytest.raises(SystemExit) as exit_info:
        run(train_main)
    assert exit_info.value.code == 0, capsys.readouterr().err[-2000:]
    settings = json.loads((run_dir / "config.json").read_text())["train"]
    assert settings["batch_size"] == 4 and settings["eval_interval"] == 10 and settings["max_iters"] == 32
    assert settings["init_from"] == "resume"
