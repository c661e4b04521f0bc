"""The package is laid out as the architecture: its folders are exactly the rooms; imports only go
down the floors (a module imports its own floor and those below: the model never imports training,
training never the command lines); the study tools, beside the floors, import rooms up to training
and are imported only by themselves and the command lines; the public API imports only the model and
decoding; no module is longer than 250 lines (the NumPy reference 330); every package's __init__ but
the facades' holds a docstring only; and every public class and function lives in the model or
decoding."""

import ast
import pathlib
import subprocess
import sys

import jaxgpt

PACKAGE = pathlib.Path(jaxgpt.__file__).parent
# rooms, lowest first: a module may import its own room and the rooms below it
FLOORS = {"foundation": 0, "model": 1, "data": 1, "decoding": 2, "training": 3, "benchmark": 4, "cli": 5}
STUDY = "study"  # beside the floors: it may import any room up to training; only itself and the command lines import it
FACADES = {"jaxgpt", "jaxgpt.study.exercises", "jaxgpt.study.codealong"}  # packages whose __init__ gathers a public API
MAX_LINES = 250
# the NumPy twin of every module, one file a learner reads top to bottom beside them
LONGER = {"jaxgpt.model.reference": 330}


def room(module: str) -> str:
    """'jaxgpt.training.loop' -> 'training'; top-level modules (errors, atomic, plotting) -> 'foundation'."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and (PACKAGE / parts[1]).is_dir() else "foundation"


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def imported_modules(path: pathlib.Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxgpt"):
            for alias in node.names:  # `from jaxgpt.model import reference` imports jaxgpt.model.reference
                submodule = PACKAGE.parent.joinpath(*node.module.split("."), alias.name + ".py")
                yield f"{node.module}.{alias.name}" if submodule.exists() else node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names if alias.name.startswith("jaxgpt"))


def test_the_rooms_are_the_architecture():
    assert {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()} == {
        "model",
        "data",
        "decoding",
        "training",
        "study",
        "cli",
        "benchmark",
    }


def test_imports_only_go_down():
    wrong = []
    for name, path in modules():
        if name == "jaxgpt":  # the public API gathers the model and decoding
            continue
        here = room(name)
        for target in imported_modules(path):
            there = room(target)
            if there == STUDY:
                allowed = here in (STUDY, "cli")
            elif here == STUDY:
                allowed = FLOORS[there] <= FLOORS["training"]
            else:
                allowed = FLOORS[there] <= FLOORS[here]
            if not allowed:
                wrong.append(f"{name} ({here}) imports {target} ({there})")
    assert not wrong, "\n".join(wrong)


def test_the_public_api_imports_only_the_model_and_decoding():
    homes = [*jaxgpt._WHERE.values(), *jaxgpt._MODULES.values()]  # imported on first use
    assert {room(home) for home in homes} == {"model", "decoding"}
    for name, home in jaxgpt._WHERE.items():
        value = getattr(jaxgpt, name)
        assert getattr(value, "__module__", home) == home, name  # classes and functions (presets are data)


def test_importing_jaxgpt_or_the_allocator_imports_no_jax():
    """The scripts restart themselves (cli/allocator.py) before anything heavy is loaded: `import
    jaxgpt` and the allocator module must not import JAX, Flax or NumPy; a public name still works."""
    code = (
        "import sys, jaxgpt, jaxgpt.cli.allocator; "
        "print(sorted(m for m in ('jax', 'flax', 'numpy', 'optax') if m in sys.modules)); "
        "from jaxgpt import GPT; print(GPT.__name__, 'jax' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split("\n")[:2] == ["[]", "GPT True"]


def test_no_module_holds_two_concepts():
    long = {name: len(path.read_text().splitlines()) for name, path in modules()}
    assert {name: n for name, n in long.items() if n > LONGER.get(name, MAX_LINES)} == {}


def test_every_name_has_one_home():
    """Only the facades re-export: elsewhere every name a module imports from jaxgpt is used there,
    and a package's __init__ holds a docstring only."""
    unused = []
    for name, path in modules():
        tree = ast.parse(path.read_text())
        if path.name == "__init__.py" and name not in FACADES:
            assert all(isinstance(node, ast.Expr) for node in tree.body), f"{name}/__init__.py re-exports"
        if name in FACADES:
            continue
        used = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
        used |= {n.value.id for n in ast.walk(tree) if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("jaxgpt"):
                unused += [f"{name}: {a.asname or a.name}" for a in node.names if (a.asname or a.name) not in used]
    assert not unused, "imported from jaxgpt and not used (a re-export):\n" + "\n".join(unused)
    for name in jaxgpt.__all__:
        if callable(getattr(jaxgpt, name)):  # classes and functions (presets and the reference are data, a module)
            home = getattr(jaxgpt, name).__module__
            assert home != "jaxgpt" and room(home) in ("model", "decoding"), (name, home)
