"""CI's floor run stays honest: Colab's pins are pyproject.toml's lower bounds, and the test modules
it leaves out (no PyTorch, transformers or datasets there) are exactly those that need them."""

import ast
import pathlib
import re
import tomllib

from helpers import colab_pins

ROOT = pathlib.Path(__file__).resolve().parents[1]
HF_MODULES = {  # the "hf" extra's packages, and jaxgpt's modules that import them
    "torch",
    "transformers",
    "datasets",
    "jaxgpt.benchmark.pytorch",
    "jaxgpt.benchmark.torch_gpt",
    "jaxgpt.benchmark.codealong_torch",
}


def listed(path: pathlib.Path) -> list[str]:
    return [line.split("#")[0].strip() for line in path.read_text().splitlines() if line.split("#")[0].strip()]


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def imports(path: pathlib.Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "deferred":  # helpers.deferred
            names.update(arg.value for arg in node.args if isinstance(arg, ast.Constant))
    return names


def test_the_floor_run_leaves_out_exactly_the_modules_that_need_the_hf_extra():
    needing = {
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / "tests").glob("test_*.py"))
        if any(name.split(".")[0] in HF_MODULES or name in HF_MODULES for name in imports(path))
    }
    assert set(listed(ROOT / ".ci" / "needs-hf.txt")) == needing


def test_colabs_pins_are_the_lower_bounds():
    pins = colab_pins()
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for requirement in dependencies:
        name, _, bound = requirement.partition(">=")
        bounds[normalized(name)] = bound.split(",")[0].strip()
    for name, version in pins.items():
        if normalized(name) == "jaxlib":  # no direct requirement: jax brings its own jaxlib
            assert "jaxlib" not in bounds
            continue
        assert bounds[normalized(name)] == version, name
    assert pins["jax"] == pins["jaxlib"]
