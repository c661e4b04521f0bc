"""Write the learner's notebooks from the solutions, executed: python scripts/make_notebooks.py

notebooks/solutions/NN_name.ipynb (the exercises solved) -> notebooks/NN_name.ipynb (stubs in their
place), both run top to bottom and stored with their outputs. Run it after editing a solution
notebook; tests/test_notebooks.py fails while the two differ."""

import pathlib
import shutil
import sys
import tempfile

import nbformat

from jaxgpt.study.learner import execute, learner_notebook

ROOT = pathlib.Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    names = sys.argv[1:] or [path.name for path in sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))]
    for name in names:
        solution = nbformat.read(ROOT / "notebooks" / "solutions" / name, as_version=4)
        for notebook, target in (
            (solution, ROOT / "notebooks" / "solutions" / name),
            (learner_notebook(solution), ROOT / "notebooks" / name),
        ):
            with tempfile.TemporaryDirectory() as folder:
                cache = pathlib.Path(folder) / "cache"
                cache.mkdir()
                shutil.copy(ROOT / "tests" / "data" / "tinyshakespeare.txt", cache / "tinyshakespeare.txt")
                execute(notebook, folder, cache)
            nbformat.write(notebook, target)
            print(f"wrote {target.relative_to(ROOT)}")
