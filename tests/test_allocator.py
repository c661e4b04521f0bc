"""The scripts' allocator restart: tcmalloc preloaded where installed, never twice, and off on request."""

import os
import pathlib
import subprocess
import sys

from jaxgpt.cli import allocator


def test_preload_environment_adds_tcmalloc_once_and_respects_opt_out(monkeypatch):
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "/lib/libtcmalloc_minimal.so.4")
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    env = allocator.preload_environment({"LD_PRELOAD": "/lib/other.so", "PATH": "/bin"})
    assert env == {"LD_PRELOAD": "/lib/libtcmalloc_minimal.so.4 /lib/other.so", "PATH": "/bin"}
    assert allocator.preload_environment(env) is None  # already preloaded: no restart loop
    assert allocator.preload_environment({"JAXGPT_ALLOCATOR": "system"}) is None
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: None)
    assert allocator.preload_environment({}) is None  # not installed: run with glibc's malloc


def a_harmless_library() -> pathlib.Path:
    """A shared library every Linux has, to preload in tcmalloc's place (libm: it changes nothing)."""
    for folder in allocator.SEARCH_DIRS + ("/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/lib"):
        if (pathlib.Path(folder) / "libm.so.6").is_file():
            return pathlib.Path(folder) / "libm.so.6"
    raise AssertionError("no libm.so.6 found")


def test_a_script_restarts_itself_with_the_library_preloaded(tmp_path):
    # a stand-in named as tcmalloc is, in a folder the script searches first
    (tmp_path / "libtcmalloc_minimal.so.4").symlink_to(a_harmless_library())
    script = tmp_path / "show.py"
    script.write_text(
        "import os\nfrom jaxgpt.cli import allocator\n"
        f"allocator.SEARCH_DIRS = ({str(tmp_path)!r},)\n"
        "print('started', flush=True)\n"
        "allocator.restart_with_tcmalloc()\nprint(os.environ.get('LD_PRELOAD'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "JAXGPT_ALLOCATOR")}
    printed = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    # started twice (the restart), and the second run has the library preloaded, once
    assert printed.stdout.split() == ["started", "started", str(tmp_path / "libtcmalloc_minimal.so.4")]
    opted_out = subprocess.run(
        [sys.executable, str(script)], env={**env, "JAXGPT_ALLOCATOR": "system"}, capture_output=True, text=True
    )
    assert opted_out.stdout.split() == ["started", "None"]
