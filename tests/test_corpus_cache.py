"""train.py --data_file beyond one small text file: the corpus is prepared once into the cache
folder (the ids scripts/prepare.py writes), reused by later runs, prepared again when a file
changes, shared by two runs that prepare it at once, and trained on."""

import gzip
import json
import os
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from cli_runs import TINY_FLAGS

import jaxgpt.data.corpus.cached as cached
from jaxgpt.cli.run import run
from jaxgpt.cli.train import train_main
from jaxgpt.data.corpus.cached import prepared_copy
from jaxgpt.data.corpus.inputs import corpus_files
from jaxgpt.data.corpus.prepare import prepare_corpus
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sources import load_dataset
from jaxgpt.data.tokenizer import CharTokenizer
from jaxgpt.errors import InputError


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "corpora"


@pytest.fixture
def shards(tmp_path, shakespeare_path):
    """Three .jsonl.gz shards of tiny Shakespeare's paragraphs, 100 documents each, text in "body"."""
    paragraphs = shakespeare_path.read_text().split("\n\n")
    folder = tmp_path / "shards"
    folder.mkdir()
    for shard in range(3):
        with gzip.open(folder / f"{shard}.jsonl.gz", "wt") as file:
            file.writelines(json.dumps({"body": p}) + "\n" for p in paragraphs[shard::3][:100])
    return folder


def assert_same_data(data: Dataset, expected: Dataset) -> None:
    assert isinstance(data.train, np.memmap) and data.tokenizer.chars == expected.tokenizer.chars
    np.testing.assert_array_equal(data.train, expected.train)
    np.testing.assert_array_equal(data.val, expected.val)


def test_a_folder_is_prepared_once_into_the_cache_and_again_when_a_file_changes(cache, shards, tmp_path):
    said = []
    data = load_dataset("shakespeare_char", str(shards), text_field="body", echo=said.append)
    prepare_corpus([str(shards)], tmp_path / "by_prepare", "char", "body", progress=False)
    assert_same_data(data, Dataset.load(tmp_path / "by_prepare"))
    (folder,) = cache.iterdir()  # the copy, and nothing left of the hidden folder it was made in
    assert said[0] == f"preparing --data_file once into {folder} (set JAXGPT_CACHE_DIR to keep it elsewhere)"
    assert said[1].startswith(f"prepared {len(data.train) + len(data.val):,} tokens of 300 document(s) in ")
    again = load_dataset("shakespeare_char", str(shards), text_field="body", echo=said.append)
    assert said[2:] == [f"using the prepared copy of --data_file in {folder}"]
    assert_same_data(again, data)

    shard = shards / "0.jsonl.gz"
    with gzip.open(shard, "at") as file:
        file.write(json.dumps({"body": "A new document."}) + "\n")
    os.utime(shard, ns=(shard.stat().st_atime_ns, shard.stat().st_mtime_ns + 10**9))
    changed = load_dataset("shakespeare_char", str(shards), text_field="body", echo=said.append)
    assert said[3].startswith("preparing --data_file once into") and len(list(cache.iterdir())) == 2
    assert len(changed.train) + len(changed.val) == len(data.train) + len(data.val) + len("\nA new document.")


def test_a_text_file_is_read_in_memory_up_to_a_size_and_beyond_it_from_the_same_ids_in_the_cache(
    cache, shakespeare_path, monkeypatch
):
    said = []
    in_memory = load_dataset("shakespeare_char", str(shakespeare_path), echo=said.append)
    assert not isinstance(in_memory.train, np.memmap) and not cache.exists() and said == []
    monkeypatch.setattr(cached, "IN_MEMORY_BYTES", shakespeare_path.stat().st_size - 1)
    assert_same_data(load_dataset("shakespeare_char", str(shakespeare_path), echo=said.append), in_memory)
    assert said[0].startswith("preparing --data_file once into")


def test_a_checkpoints_tokenizer_makes_its_own_copy_and_refuses_characters_it_lacks(cache, shards):
    data = load_dataset("shakespeare_char", str(shards), text_field="body", echo=lambda *_: None)
    wider = CharTokenizer(data.tokenizer.chars + "~")  # a checkpoint's vocabulary with one more character
    tokenized = load_dataset("shakespeare_char", str(shards), wider, "body", echo=lambda *_: None)
    assert tokenized.tokenizer.chars == wider.chars and len(list(cache.iterdir())) == 2
    np.testing.assert_array_equal(tokenized.train, data.train)  # "~" sorts last: every other id is the same
    narrower = CharTokenizer(data.tokenizer.chars.replace("z", ""))
    with pytest.raises(InputError, match=r"1 character\(s\) outside the tokenizer's .*'z'"):
        load_dataset("shakespeare_char", str(shards), narrower, "body", echo=lambda *_: None)
    assert len(list(cache.iterdir())) == 2  # the failed copy left nothing


def test_two_runs_preparing_the_same_corpus_at_once_keep_one_copy(cache, shards, monkeypatch):
    both_prepared = threading.Barrier(2)

    def prepare_then_wait_for_the_other(*args, **kwargs):
        prepared = prepare_corpus(*args, **kwargs, progress=False)
        both_prepared.wait(timeout=60)  # both rename after both prepared: one finds the other's copy
        return prepared

    monkeypatch.setattr(cached, "prepare_corpus", prepare_then_wait_for_the_other)
    files = corpus_files([str(shards)])
    with ThreadPoolExecutor(2) as runs:
        folders = list(runs.map(lambda _: prepared_copy(files, "char", "body", echo=lambda *_: None), range(2)))
    assert folders[0] == folders[1] and list(cache.iterdir()) == [folders[0]]
    assert len(Dataset.load(folders[0]).train) > 0


def test_train_py_trains_on_a_folder_of_jsonl_shards(cache, shards, tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "run"
    argv = [*TINY_FLAGS, f"--data_file={shards}", "--text_field=body", f"--out_dir={out_dir}", "--max_iters=2"]
    monkeypatch.setattr(sys, "argv", ["train.py", *argv, "--eval_interval=2", "--compile_ahead=off"])
    with pytest.raises(SystemExit) as exit_info:
        run(train_main)
    captured = capsys.readouterr()
    assert exit_info.value.code == 0, captured.err[-2000:]
    assert "preparing --data_file once into" in captured.out
    settings = json.loads((out_dir / "config.json").read_text())["train"]
    assert (settings["data_file"], settings["text_field"]) == (str(shards), "body")
    losses = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert any(np.isfinite(entry.get("val_loss", np.nan)) for entry in losses)
