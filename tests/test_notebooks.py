"""Every study notebook, and the Colab notebook, runs from top to bottom (its own asserts inside),
offline, on CPU.

The notebooks are stored with their outputs so they read well on GitHub; here each one is executed
again in a fresh kernel, in a scratch folder, with the copy of tiny Shakespeare that ships in tests/data."""

import pathlib
import shutil

import nbformat
import pytest
from helpers import colab_pins
from nbclient import NotebookClient

from jaxgpt.study.learner import STUB

ROOT = pathlib.Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def test_each_day_has_its_notebooks():
    assert [path.stem[:2] for path in NOTEBOOKS] == ["01", "02", "02", "03", "04", "05", "06"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.stem for path in NOTEBOOKS])
def test_notebook_runs_and_is_stored_with_outputs(path, tmp_path, monkeypatch, shakespeare_path):
    stored = nbformat.read(path, as_version=4)
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    assert 'pip", "install"' in code[0].source  # the Colab / Kaggle install cell comes first
    assert all(cell.execution_count for cell in code) and any(cell.outputs for cell in code)  # stored executed
    assert any("assert " in cell.source for cell in code)  # each notebook checks what it shows
    offline(tmp_path, monkeypatch, shakespeare_path)
    fresh = nbformat.read(path, as_version=4)
    # raises CellExecutionError, with the cell and its traceback, if any cell (an assert included) fails
    NotebookClient(fresh, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    assert all(
        output.output_type != "error" for cell in fresh.cells if cell.cell_type == "code" for output in cell.outputs
    )
    # a cell ending in a check shows the verdict it printed, not the CheckResult object after it
    for notebook in (stored, fresh):
        shown = [
            output.get("data", {}).get("text/plain", "") for cell in code_cells(notebook) for output in cell.outputs
        ]
        assert not any(text.startswith("CheckResult(") for text in shown)
    # the exercises ship as stubs: each one's check says so, and the notebook ran on past it
    for cell in fresh.cells:
        if STUB in cell.source:
            printed = "".join(output.get("text", "") for output in cell.outputs)
            assert "not written yet: fill in `" in printed and "PASS" not in printed, printed


def code_cells(notebook):
    return [cell for cell in notebook.cells if cell.cell_type == "code"]


def offline(tmp_path, monkeypatch, shakespeare_path):
    """tiny Shakespeare already "downloaded", one CPU device with XLA's usual optimisation, as on a
    learner's laptop (the suite's -O0 compiles faster, but the notebooks' hundreds of training steps
    then run slower than that saves)."""
    cache = tmp_path / "cache"
    cache.mkdir(exist_ok=True)
    shutil.copy(shakespeare_path, cache / "tinyshakespeare.txt")
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(cache))
    monkeypatch.setenv("XLA_FLAGS", "")


def run_colab_notebook(folder, parameters: dict, until=None, then=()):
    """notebooks/colab.ipynb executed in `folder`: its parameters cell followed by one that sets
    `parameters` (papermill's convention), the cells up to the one that starts with `until` (all by
    default), then the cells that start with each of `then` again; returns each code cell's
    printed text (and HTML)."""
    notebook = nbformat.read(ROOT / "notebooks" / "colab.ipynb", as_version=4)
    at = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
    settings = "\n".join(f"{name} = {value!r}" for name, value in parameters.items())
    notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(settings))
    if until is not None:
        notebook.cells = notebook.cells[
            : 1 + next(i for i, c in enumerate(notebook.cells) if c.source.startswith(until))
        ]
    notebook.cells += [
        nbformat.v4.new_code_cell(c.source) for s in then for c in notebook.cells if c.source.startswith(s)
    ]
    NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    ).execute()
    return [
        "".join(output.get("text", "") + str(output.get("data", {}).get("text/html", "")) for output in cell.outputs)
        for cell in notebook.cells
        if cell.cell_type == "code"
    ]


def test_the_colab_notebook_installs_without_jax_and_is_stored_run_on_colabs_versions():
    stored = nbformat.read(ROOT / "notebooks" / "colab.ipynb", as_version=4)
    code = [cell for cell in stored.cells if cell.cell_type == "code"]
    install = next(line for line in code[0].source.splitlines() if '"pip", "install"' in line)
    # jaxgpt alone, no jax, no -U: pip keeps the runtime's JAX
    assert install.split('"install",')[1].strip() == '"-q", "./jaxgpt"], check=True)'
    assert all(cell.execution_count for cell in code) and "Traceback" not in str(code)
    pins = colab_pins()
    assert f"jax {pins['jax']}, jaxlib {pins['jaxlib']}, flax {pins['flax']}" in code[1].outputs[0]["text"]


def test_the_colab_notebook_trains_resumes_samples_evaluates_and_explores(tmp_path, monkeypatch, shakespeare_path):
    offline(tmp_path, monkeypatch, shakespeare_path)
    # the user's own text (a tenth of tiny Shakespeare): eval.py then scores 0.1 M characters, not 1.1 M
    text = tmp_path / "my_text.txt"
    text.write_text(shakespeare_path.read_text()[:100_000])
    settings = {"EVAL_ITERS": 2, "DATA_FILE": str(text)}
    first = run_colab_notebook(tmp_path, {"MAX_ITERS": 20, **settings})
    assert "no TPU or GPU on this machine: training on the CPU" in first[1]
    assert "training shakespeare-char-cpu, chosen for this CPU machine" in first[4]
    assert "computing in float32" in first[4] and "step 20: train loss" in first[4] and "resuming" not in first[4]
    assert len(first[6]) > 400  # a sample of 400 new characters
    assert "val" in first[7] and "perplexity" in first[7] and " 9,999" in first[7]  # my_text's val targets
    assert "srcdoc=" in first[8] and "Attention explorer" in first[8]
    # Run all again with more iterations, as after a disconnect: the run goes on from its checkpoint;
    # and once more, when it is finished: nothing is trained or overwritten
    train = "from jaxgpt.cli.train import"
    again = run_colab_notebook(tmp_path, {"MAX_ITERS": 30, **settings}, until=train, then=[train])
    assert "resuming from iteration 20" in again[4] and "step 30: train loss" in again[4]
    assert "holds a run trained to iteration 30: a new OUT_DIR trains a new one" in again[5]
