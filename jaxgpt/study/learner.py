"""The learner's notebooks, made from the solutions: one source, so the two cannot drift.

`notebooks/solutions/` holds the notebooks with every exercise solved. In an exercise cell the
solution sits between two marker lines:

    def my_attention(q, k, v, mask=None):
        \"\"\"q [..., T, D], k [..., S, D], v [..., S, D] -> [..., T, D]\"\"\"
        # BEGIN SOLUTION
        ...
        # END SOLUTION

    check_attention(my_attention)

`learner_source` replaces what is between the markers (the markers included) by one
`raise NotImplementedError` at the same indentation, so the learner sees the signature, the
docstring with the shapes and the check; run on the stub, the check prints "not written yet" and
the notebook goes on. `python scripts/make_notebooks.py` writes `notebooks/` from the solutions
and executes them, so they are stored with their outputs.
"""

from __future__ import annotations

import copy
import re

BEGIN, END = "# BEGIN SOLUTION", "# END SOLUTION"
STUB = "raise NotImplementedError  # your code here"
_SOLUTION = re.compile(rf"^([ \t]*){re.escape(BEGIN)}\n.*?^[ \t]*{re.escape(END)}[ \t]*$", re.DOTALL | re.MULTILINE)


def learner_source(source: str) -> str:
    """A cell's code with each marked solution replaced by a stub at its indentation."""
    if source.count(BEGIN) != source.count(END):
        raise ValueError(f"unbalanced solution markers in a cell: {source[:80]!r}")
    return _SOLUTION.sub(lambda match: f"{match.group(1)}{STUB}", source)


def is_exercise(source: str) -> bool:
    return BEGIN in source


def learner_notebook(solution):
    """The learner's copy of a solutions notebook (an nbformat node): stubs for solutions, outputs cleared."""
    notebook = copy.deepcopy(solution)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.source = learner_source(cell.source)
            cell.outputs, cell.execution_count = [], None
    return notebook


def squash_streams(outputs: list) -> list:
    """A cell's outputs as a terminal shows them at the end: consecutive stream outputs of one name
    joined, and of each line what its last carriage return left (a progress bar redraws its line
    many times a second; stored, every redraw would be kept)."""
    squashed = []
    for output in outputs:
        if output.output_type == "stream" and squashed and squashed[-1].get("name") == output.name:
            squashed[-1].text += output.text
        else:
            squashed.append(copy.deepcopy(output))
    for output in squashed:
        if output.output_type == "stream":
            output.text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in output.text.split("\n"))
    return squashed


def execute(notebook, folder, cache_dir) -> None:
    """Run a notebook top to bottom in a fresh kernel, in `folder`, with JAXGPT_CACHE_DIR at `cache_dir`
    (one holding tinyshakespeare.txt runs offline); its cells keep their outputs, streams squashed."""
    import os

    from nbclient import NotebookClient  # the notebooks extra: pip install -e ".[notebooks]"

    saved = {name: os.environ.get(name) for name in ("JAXGPT_CACHE_DIR", "XLA_FLAGS")}
    os.environ.update(JAXGPT_CACHE_DIR=str(cache_dir), XLA_FLAGS="")  # one CPU device, XLA's usual optimisation
    try:
        NotebookClient(
            notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
        for cell in notebook.cells:
            if cell.cell_type == "code":
                cell.outputs = squash_streams(cell.outputs)
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
