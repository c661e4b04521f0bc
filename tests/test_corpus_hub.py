"""prepare.py --hf_dataset: a dataset that Hugging Face's `datasets` opens, streamed row by row into
the ids the same rows give as .jsonl files. Tested on local folders only, with `datasets` offline:
never the network (the Hub's names are `datasets`'s to resolve, not jaxgpt's)."""

import json

import numpy as np
import pyarrow
import pyarrow.parquet
import pytest

from jaxgpt.cli.prepare import prepare_main
from jaxgpt.data.corpus.hub import HubDataset
from jaxgpt.data.corpus.prepare import prepare_corpus
from jaxgpt.data.dataset import Dataset
from jaxgpt.errors import DataError

DOCUMENTS = [f"Document {n}: {'to be or not to be ' * n}".strip() for n in range(30)] + [""]


@pytest.fixture(autouse=True)
def datasets(monkeypatch, tmp_path):
    """The datasets package, offline, with its cache in the test's folder. Imported here, not at the
    top: the suite's workers all collect this module, and the import costs ~1.5 s of CPU each."""
    import datasets

    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "hf-cache")
    return datasets


@pytest.fixture
def parquet_dataset(tmp_path):
    """A dataset folder as the Hub lays one out: data/train-*.parquet, with a text column and another."""
    folder = tmp_path / "dataset"
    (folder / "data").mkdir(parents=True)
    for shard in range(2):
        rows = DOCUMENTS[shard::2]
        table = pyarrow.table({"content": rows, "id": list(range(len(rows)))})
        pyarrow.parquet.write_table(table, folder / "data" / f"train-0000{shard}-of-00002.parquet")
    return folder


def test_a_dataset_by_name_prepares_as_its_rows_would_from_files(tmp_path, parquet_dataset, capsys, datasets):
    out = tmp_path / "from-hub"
    argv = ["--hf_dataset", str(parquet_dataset), "--split", "train", "--text_field", "content"]
    assert prepare_main([*argv, "--tokenizer", "char", "--val_fraction", "3", "--out_dir", str(out)]) == 0
    rows = [row["content"] for row in datasets.load_dataset(str(parquet_dataset), split="train", streaming=True)]
    assert sorted(rows) == sorted(DOCUMENTS)  # every row, in the order datasets streams them
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text("".join(json.dumps({"content": row}) + "\n" for row in rows))
    prepare_corpus([str(jsonl)], tmp_path / "from-file", "char", "content", val_fraction=3, progress=False)
    from_hub, from_file = Dataset.load(out), Dataset.load(tmp_path / "from-file")
    assert from_hub.tokenizer.chars == from_file.tokenizer.chars
    np.testing.assert_array_equal(from_hub.train, from_file.train)
    np.testing.assert_array_equal(from_hub.val, from_file.val)
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert f"from 30 document(s) of {parquet_dataset}, split train, in " in line  # the empty row left out


def test_a_dataset_that_does_not_open_or_lacks_the_field_is_one_line(tmp_path, parquet_dataset):
    with pytest.raises(DataError, match=r"could not open .*no-such-dataset, split train \(.*\): check the name"):
        prepare_corpus(HubDataset(str(tmp_path / "no-such-dataset")), tmp_path / "a", "char", progress=False)
    with pytest.raises(DataError, match=r"could not open .*, split test \(.*\): check the name, --hf_config, --split"):
        prepare_corpus(HubDataset(str(parquet_dataset), split="test"), tmp_path / "b", "char", progress=False)
    with pytest.raises(DataError, match=r"row 1 of .* has no field 'text' \(it has: content, id\)"):
        prepare_corpus(HubDataset(str(parquet_dataset)), tmp_path / "c", "char", progress=False)
    assert not any((tmp_path / name).exists() for name in "abc")


def test_hf_dataset_and_data_file_are_one_or_the_other(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        prepare_main(["--hf_dataset", "x", "--data_file", "y.txt", "--out_dir", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "argument --data_file: not allowed with argument --hf_dataset" in capsys.readouterr().err
