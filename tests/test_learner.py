"""The learner's notebooks are the solutions with stubs in place of each marked solution, and the
solutions pass every check they call."""

import contextlib
import io
import pathlib
import re
import shutil

import nbformat
import pytest

from jaxgpt.study.learner import STUB, is_exercise, learner_notebook, learner_source, squash_streams

NOTEBOOKS = pathlib.Path(__file__).resolve().parents[1] / "notebooks"
SOLUTIONS = sorted((NOTEBOOKS / "solutions").glob("*.ipynb"))


def test_a_marked_solution_becomes_a_stub_at_its_indentation():
    source = (
        "def f(x):\n"
        '    """x [T] -> [T]"""\n'
        "    # BEGIN SOLUTION\n"
        "    y = x + 1\n"
        "\n"
        "    return y\n"
        "    # END SOLUTION\n"
        "\n"
        "check(f)\n"
    )
    assert learner_source(source) == f'def f(x):\n    """x [T] -> [T]"""\n    {STUB}\n\ncheck(f)\n'
    assert learner_source("x = 1\n") == "x = 1\n"  # cells without an exercise stay as they are
    with pytest.raises(ValueError, match="unbalanced"):
        learner_source("# BEGIN SOLUTION\nx = 1\n")


def test_the_exercises_are_there():
    assert [path.stem[:2] for path in SOLUTIONS] == ["01", "02", "02", "03", "05", "06"]


@pytest.mark.parametrize("path", SOLUTIONS, ids=[path.stem for path in SOLUTIONS])
def test_the_learner_notebook_is_the_solutions_with_stubs(path):
    learner = nbformat.read(NOTEBOOKS / path.name, as_version=4)
    expected = learner_notebook(nbformat.read(path, as_version=4))
    assert [(cell.cell_type, cell.source) for cell in learner.cells] == [
        (cell.cell_type, cell.source) for cell in expected.cells
    ], f"{path.name} differs from its solutions: run python scripts/make_notebooks.py {path.name}"
    exercises = [cell.source for cell in learner.cells if STUB in cell.source]
    assert exercises and not any("BEGIN SOLUTION" in source for source in exercises)  # no answer shipped


@pytest.mark.parametrize("path", SOLUTIONS, ids=[path.stem for path in SOLUTIONS])
def test_every_solution_passes_its_checks(path, tmp_path, monkeypatch, shakespeare_path):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cache").mkdir()
    shutil.copy(shakespeare_path, tmp_path / "cache" / "tinyshakespeare.txt")  # offline: already "downloaded"
    monkeypatch.setenv("JAXGPT_CACHE_DIR", str(tmp_path / "cache"))
    cells = [cell.source for cell in nbformat.read(path, as_version=4).cells if is_exercise(cell.source)]
    assert cells
    namespace = {"__name__": "__exercise__"}  # in order, as the notebook runs them: a later exercise
    for source in cells:  # builds on the learner's earlier functions (my_multi_head_attention on my_attention)
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(source, path.name, "exec"), namespace)
        passed = [line for line in printed.getvalue().splitlines() if line.startswith("PASS ")]
        # each check of a learner's own function or class (my_attention, MyBlock) is one solution checked;
        # the cells also show deliberate mistakes failing (unscaled, over_the_batch), which assert that themselves
        solutions_checked = re.findall(r"check_\w+\((?:my_|My)", source)
        assert solutions_checked and len(passed) == len(solutions_checked), printed.getvalue()


def test_stored_streams_keep_what_a_terminal_shows_at_the_end():
    from nbformat.v4 import new_output

    outputs = [
        new_output("stream", name="stderr", text="  0%| 0/10\r 50%| 5/10"),
        new_output("stream", name="stderr", text="\r100%| 10/10\n"),
        new_output("stream", name="stdout", text="step 10: loss 2.0\n"),
        new_output("stream", name="stderr", text="done\r\n"),
    ]
    squashed = squash_streams(outputs)
    assert [(o.name, o.text) for o in squashed] == [
        ("stderr", "100%| 10/10\n"),
        ("stdout", "step 10: loss 2.0\n"),
        ("stderr", "done\n"),
    ]
