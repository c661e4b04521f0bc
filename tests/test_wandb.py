"""nanoGPT's --wandb_log: an offline Weights & Biases run holds the scalars of metrics.jsonl; its
checkpoints sample and evaluate where wandb is not installed, and training with it there is a
one-line error before anything is written."""

import dataclasses
import glob
import importlib.util
import json
import struct

import jax
import pytest

from jaxgpt.decoding.generate import generate
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.run_eval import evaluate_run
from jaxgpt.training.train_gpt import train


def wandb_history(run_file: str) -> list[dict]:
    """The history rows of an offline run's .wandb file: W&B's LevelDB-style log (a ':W&B' header,
    32 KiB blocks of records with 7-byte headers: crc, length, type) of protobuf Records."""
    from wandb.proto import wandb_internal_pb2

    data = open(run_file, "rb").read()
    assert data[:4] == b":W&B"
    position, block, pending, rows = 7, 32768, b"", []
    while position + 7 <= len(data):
        left = block - position % block
        _, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if left < 7 or (length == 0 and kind == 0):  # the rest of a block is padding
            position += left
            continue
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a whole record, or the last piece of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            if record.WhichOneof("record_type") == "history":
                items = record.history.item  # a key with "/" is stored as nested_key [train, loss]
                rows.append({item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in items})
    return rows


def test_an_offline_run_holds_the_scalars_of_metrics_jsonl(tmp_path, monkeypatch, shakespeare_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.setenv("HOME", str(tmp_path))  # wandb's settings and cache stay in the test's folder
    out_dir = tmp_path / "run"
    config = TrainConfig(
        out_dir=str(out_dir),
        data_file=str(shakespeare_path),
        max_iters=20,
        eval_interval=10,
        log_interval=5,
        eval_iters=2,
        batch_size=4,
        warmup_iters=5,
        lr_decay_iters=20,
        wandb_log=True,
        wandb_project="jaxgpt-test",
    )
    train(config, GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=32), progress=False, echo=lambda *_: None)
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    (run_file,) = glob.glob(str(out_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    history = wandb_history(run_file)
    logged = {r["iter"]: r["loss"] for r in records if "loss" in r}
    assert {row["_step"]: row["train/loss"] for row in history if "train/loss" in row} == pytest.approx(logged)
    evaluated = {r["iter"]: r["val_loss"] for r in records if "val_loss" in r}
    assert {row["_step"]: row["eval/val_loss"] for row in history if "eval/val_loss" in row} == pytest.approx(evaluated)
    assert all("train/grad_norm" in row for row in history if "train/loss" in row)
    # the same run on a machine without wandb: its checkpoints sample and evaluate; resuming says what to do
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real_find_spec(name))
    model, params, tokenizer, meta = restore_model(out_dir)
    assert meta["train"]["wandb_log"] is True and meta["iter"] == 20
    assert (
        len(tokenizer.decode(generate(model, params, tokenizer.encode("\n")[None, :], 5, rng=jax.random.key(0))[0]))
        == 6
    )
    assert evaluate_run(out_dir)["iter"] == 20
    resumed = dataclasses.replace(config, init_from="resume", max_iters=30)
    with pytest.raises(InputError, match=r"wandb_log=True needs the wandb package: .* or pass --wandb_log False"):
        train(resumed, progress=False)


def test_wandb_log_without_the_package_is_a_one_line_error_at_the_start_of_training(monkeypatch, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real_find_spec(name))
    config = TrainConfig(wandb_log=True, out_dir=str(tmp_path / "run"))  # a config loads anywhere
    with pytest.raises(InputError, match=r'wandb_log=True needs the wandb package: pip install -e "\.\[wandb\]"'):
        train(config, GPTConfig(n_layer=1, n_head=2, n_embd=32, block_size=32), progress=False)
    assert not (tmp_path / "run").exists()  # said before anything was written
