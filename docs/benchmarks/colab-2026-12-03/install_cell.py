"""The README's "installing on Colab's stack" measurement: notebooks/colab.ipynb's install cell run in
a process that has already imported jax, as a Colab kernel has, with this checkout as the repository.

    python3.13 -m venv venv && . venv/bin/activate && pip install -r .ci/colab-constraints.txt
    pip freeze > before.txt && python docs/benchmarks/colab-2026-12-03/install_cell.py && pip freeze > after.txt

Run it from an empty folder (the cell clones into ./jaxgpt). Printed on 3 December 2026: install
cell 3.9 s; jax 0.7.2 before and after, in the same process; the two freezes differ only by 7 added
packages."""

import json
import pathlib
import time

import jax  # the kernel has JAX loaded already, as Colab's does

ROOT = pathlib.Path(__file__).resolve().parents[3]
print("before:", jax.__version__)
cells = json.loads((ROOT / "notebooks" / "colab.ipynb").read_text())["cells"]
source = "".join(next(cell for cell in cells if cell["cell_type"] == "code")["source"])
start = time.perf_counter()
exec(source.replace("https://github.com/<owner>/jaxgpt", str(ROOT)))
print(f"install cell: {time.perf_counter() - start:.1f} s")
start = time.perf_counter()
from jaxgpt.accelerator import check_accelerator  # noqa: E402 - installed just now, in this process

check_accelerator()
print(f"jaxgpt imported in the same process in {time.perf_counter() - start:.1f} s; jax still {jax.__version__}")
