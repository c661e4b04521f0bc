"""Test session setup: two simulated CPU devices, so data-parallel code runs for real.

XLA reads the flag once, when JAX starts, hence here, before any test imports jax."""

import os
import pathlib
import tempfile

import pytest

# the workers and their child processes share this machine's cores: numpy's OpenBLAS and PyTorch's
# OpenMP threads wait for work by spinning, which burns the CPU time another test needs (set before
# anything imports numpy or torch; child processes inherit it)
for threads in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(threads, "1")

if "xla_force_host_platform_device_count" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2").strip()

# the suite's models are tiny, so compiling costs more than running: LLVM's -O0 compiles faster and
# computes the same numbers (XLA's own graph optimisations still run). Child processes use it too.
FAST_COMPILE = "--xla_backend_optimization_level=0"
if "xla_backend_optimization_level" not in os.environ["XLA_FLAGS"]:
    os.environ["XLA_FLAGS"] += " " + FAST_COMPILE

# many tests build the same small step again (each train() call, each script run): JAX's
# persistent compilation cache lets them reuse the first compilation instead of redoing it
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "jaxgpt-test-jit-cache"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")

# jaxgpt's cache folder (downloads, this CPU's timed peak FLOP/s) is the suite's own, never the user's
os.environ["JAXGPT_CACHE_DIR"] = os.path.join(tempfile.gettempdir(), "jaxgpt-test-cache")

# the scripts restart themselves once with glibc's malloc tuned (jaxgpt/cli/allocator.py), a second
# interpreter start: the suite's scripts start tuned already (test_allocator.py tests the restart)
from jaxgpt.cli.allocator import GLIBC_TUNED  # noqa: E402

os.environ.setdefault("GLIBC_TUNABLES", GLIBC_TUNED)

# tiny Shakespeare (public domain, the file nanoGPT and char-rnn use) ships with the tests, so a
# clone anywhere runs them offline
SHAKESPEARE = pathlib.Path(__file__).resolve().parent / "data" / "tinyshakespeare.txt"


@pytest.fixture(scope="session")
def shakespeare_path() -> pathlib.Path:
    return SHAKESPEARE


@pytest.fixture(scope="session")
def trained_run(tmp_path_factory, shakespeare_path):
    """(out_dir, the finished process) of scripts/train.py on a tiny model: 30 iterations, evaluated
    at 0, 10, 20 and 30, on 150,000 characters of tiny Shakespeare (Romeo and Juliet from Act IV on,
    which holds all 65 of its characters: eval.py scores whole splits of it, a seventh of the work).
    Tests only read it: one that changes a run changes a copy. The modules that use it mark
    themselves `xdist_group("trained_run")`, so one worker trains it, once."""
    from cli_runs import TINY_FLAGS, script  # here, not at the top: it imports jax, after XLA_FLAGS is set

    folder = tmp_path_factory.mktemp("run")
    text = shakespeare_path.read_text()
    part = text[text.index("PARIS:\nImmoderately") :][:150_000]
    assert set(part) == set(text)
    (folder / "romeo_and_juliet.txt").write_text(part)
    out_dir = folder / "out"
    result = script(
        "train.py",
        f"--data_file={folder / 'romeo_and_juliet.txt'}",
        "--out_dir",
        str(out_dir),
        "--max_iters=30",
        "--eval_interval=10",
        "--log_interval=5",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out_dir, result


# The work is shared out by xdist_group (--dist loadgroup, pyproject.toml): a module whose fixtures
# train a model once for all its tests marks itself `pytestmark = pytest.mark.xdist_group(name)`, and
# every other module is one group of its own, so a worker that traces and compiles a module's models
# runs all of that module's tests. Only the notebooks, each in its own kernel, are spread one by one.
SPREAD = ("test_notebooks.py",)
# The groups start slowest first (pyproject.toml turns off xdist's own order, by number of tests), so
# the workers finish together instead of one waiting on the last long group of another.
SLOWEST_FIRST = (
    "test_notebooks.py",
    "test_faults.py",
    "test_multiprocess.py",
    "test_bad_input.py",  # the trained_run group
    "test_train.py",
    "test_readme.py",
    "test_parallel.py",
    "test_seq2seq.py",
    "test_generate.py",
    "test_transformer.py",
    "test_gpt.py",
)


@pytest.hookimpl(tryfirst=True)  # before xdist reads the marks
def pytest_collection_modifyitems(items):
    for item in items:
        if item.fspath.basename not in SPREAD and not any(item.iter_markers("xdist_group")):
            item.add_marker(pytest.mark.xdist_group(item.fspath.purebasename))

    def slowness(item):
        name = item.fspath.basename
        return SLOWEST_FIRST.index(name) if name in SLOWEST_FIRST else len(SLOWEST_FIRST)

    items.sort(key=slowness)
