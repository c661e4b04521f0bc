"""Write the learner's notebooks from the solutions, executed: python scripts/make_notebooks.py

notebooks/solutions/NN_name.ipynb (the exercises solved) -> notebooks/NN_name.ipynb (stubs in their
place), both run top to bottom and stored with their outputs. Run it after editing a solution
notebook; tests/test_notebooks.py fails while the two differ. `python scripts/make_notebooks.py
colab.ipynb` executes the Colab notebook in place."""

import pathlib
import shutil
import sys
import tempfile

import nbformat

from jaxgpt.study.learner import execute, learner_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]
# not a solution notebook: executed in place, whole (a full CPU training run, minutes), and only when
# named; tests/test_notebooks.py wants its outputs made in a venv holding .ci/colab-constraints.txt
COLAB = "colab.ipynb"


def run(notebook) -> None:
    with tempfile.TemporaryDirectory() as folder:
        cache = pathlib.Path(folder) / "cache"
        cache.mkdir()
        shutil.copy(ROOT / "tests" / "data" / "tinyshakespeare.txt", cache / "tinyshakespeare.txt")
        execute(notebook, folder, cache)


if __name__ == "__main__":
    names = sys.argv[1:] or [path.name for path in sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))]
    for name in names:
        if name == COLAB:
            notebook = nbformat.read(ROOT / "notebooks" / COLAB, as_version=4)
            run(notebook)
            nbformat.write(notebook, ROOT / "notebooks" / COLAB)
            print(f"wrote notebooks/{COLAB}")
            continue
        solution = nbformat.read(ROOT / "notebooks" / "solutions" / name, as_version=4)
        for notebook, target in (
            (solution, ROOT / "notebooks" / "solutions" / name),
            (learner_notebook(solution), ROOT / "notebooks" / name),
        ):
            run(notebook)
            nbformat.write(notebook, target)
            print(f"wrote {target.relative_to(ROOT)}")
