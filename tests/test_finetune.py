"""GPT-2 fine-tuning and sampling through the scripts' code, offline: a tiny GPT-2 in Hugging Face's
layout and a tiny BPE vocabulary stand in for OpenAI's (the code path is the same)."""

import json

import numpy as np
import pytest
from helpers import deferred
from test_tokenizer import tiny_vocab_dir  # noqa: F401 (a fixture)

from jaxgpt.cli.prepare import prepare_main
from jaxgpt.cli.sample import sample_main
from jaxgpt.cli.train import train_main
from jaxgpt.data.dataset import Dataset

torch, transformers = deferred("torch"), deferred("transformers")


@pytest.fixture
def tiny_gpt2(tmp_path, tiny_vocab_dir, monkeypatch):  # noqa: F811
    monkeypatch.setenv("JAXGPT_GPT2_VOCAB_DIR", str(tiny_vocab_dir))
    torch.manual_seed(0)
    folder = tmp_path / "tiny-gpt2"
    transformers.GPT2LMHeadModel(
        transformers.GPT2Config(n_layer=2, n_head=2, n_embd=32, n_positions=64, vocab_size=260)
    ).save_pretrained(folder)
    return folder


def test_prepare_finetune_and_sample_from_pretrained_weights(tmp_path, tiny_gpt2, shakespeare_path, capsys):
    data_dir = tmp_path / "data"
    assert prepare_main(["--data_file", str(shakespeare_path), "--out_dir", str(data_dir)]) == 0
    data = Dataset.load(data_dir)
    assert data.tokenizer.kind == "bpe" and data.train.dtype == np.uint16
    assert data.tokenizer.decode(data.train) + data.tokenizer.decode(data.val) == shakespeare_path.read_text()

    out_dir = tmp_path / "out"
    assert (
        train_main(
            [
                f"--init_from={tiny_gpt2}",
                f"--dataset={data_dir}",
                f"--out_dir={out_dir}",
                "--block_size=32",
                "--max_iters=4",
                "--eval_interval=2",
                "--eval_iters=2",
                "--batch_size=2",
                "--gradient_accumulation_steps=2",
                "--learning_rate=1e-3",
            ]
        )
        == 0
    )
    output = capsys.readouterr().out
    assert f"fine-tuning {tiny_gpt2}" in output and "starting from the pretrained weights" in output
    config = json.loads((out_dir / "config.json").read_text())
    assert config["model"]["block_size"] == 32 and config["model"]["vocab_size"] == 260  # cropped from 64
    assert json.loads((out_dir / "metrics.jsonl").read_text().splitlines()[0])["val_loss"] > 0

    assert (
        sample_main(
            ["--init_from=resume", f"--out_dir={out_dir}", "--start=hello", "--num_samples=1", "--max_new_tokens=5"]
        )
        == 0
    )
    assert "hello" in capsys.readouterr().out
    assert (
        sample_main(
            [f"--init_from={tiny_gpt2}", "--start=hello", "--num_samples=1", "--max_new_tokens=5", "--temperature=0"]
        )
        == 0
    )
    assert capsys.readouterr().out.splitlines()[1].startswith("hello")


def test_pretrained_architecture_flags_are_refused(tiny_gpt2, tmp_path):
    with pytest.raises(ValueError, match="--n_layer cannot change a pretrained model"):
        train_main([f"--init_from={tiny_gpt2}", "--n_layer=4", f"--out_dir={tmp_path}"])
    with pytest.raises(ValueError, match="block_size=128 exceeds the pretrained model's 64 positions"):
        train_main([f"--init_from={tiny_gpt2}", "--block_size=128", f"--out_dir={tmp_path}"])
