"""scripts/explore.py on a finished run: a page of its attention, rewritten only if explore.py wrote it."""

import json

import pytest

from jaxgpt.cli.explore import explore_main

pytestmark = pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)


def test_explore_writes_a_page_of_the_runs_attention_and_rewrites_only_its_own(trained_run, tmp_path, capsys):
    out_dir, _ = trained_run
    page = tmp_path / "page.html"
    assert explore_main(["--out_dir", str(out_dir), "--text", "ROMEO: But", "--output", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().out
    data = json.loads(page.read_text().split('type="application/json">')[1].split("</script>")[0])
    config = json.loads((out_dir / "config.json").read_text())["model"]
    assert "".join(data["tokens"]) == "ROMEO: But"
    assert len(data["weights"]) == config["n_layer"] and len(data["weights"][0]) == config["n_head"]
    assert (
        explore_main(["--out_dir", str(out_dir), "--text", "ROMEO", "--output", str(page)]) == 0
    )  # its own: rewritten
    assert '"tokens": ["R", "O", "M", "E", "O"]' in page.read_text()
