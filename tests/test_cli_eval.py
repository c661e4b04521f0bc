"""scripts/eval.py on a finished run: the loss of every token of both splits, the same in JSON and
in the table."""

import json
import math
import pathlib

import pytest

from jaxgpt.cli.eval import eval_main
from jaxgpt.data.dataset import Dataset
from jaxgpt.training.evaluate import whole_split_loss
from jaxgpt.training.run.restore import restore_model

pytestmark = pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)


def test_eval_scores_every_token_of_both_splits_and_is_deterministic(trained_run, capsys):
    out_dir, _ = trained_run
    run = ["--out_dir", str(out_dir), "--checkpoint", "latest", "--batch_size", "512"]
    assert eval_main([*run, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model, params, _, meta = restore_model(out_dir, "latest")
    data = Dataset.from_text(pathlib.Path(meta["train"]["data_file"]).read_text())
    expected = whole_split_loss(model, params, data.val, model.config.block_size, batch_size=700)
    assert result["iter"] == 30 and result["unit"] == "character"
    assert result["val"]["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["val"]["tokens"] == len(data.val) - 1 and result["train"]["tokens"] == len(data.train) - 1
    assert result["val"]["bits"] == pytest.approx(expected / math.log(2), rel=1e-5)
    assert eval_main(run) == 0  # the table: the same checkpoint, the same numbers
    val_row = next(line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("val "))
    assert float(val_row[1]) == round(result["val"]["loss"], 4) and float(val_row[3]) == round(result["val"]["bits"], 4)
