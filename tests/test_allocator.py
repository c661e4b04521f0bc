"""The scripts' allocator restart: glibc tuned by default (malloc then keeps large buffers in its
heap), tcmalloc on request where installed, never restarted twice, off on request."""

import os
import pathlib
import subprocess
import sys

from jaxgpt.cli import allocator


def test_restart_environment_tunes_glibc_once_and_respects_the_choice(monkeypatch):
    monkeypatch.setattr(allocator, "is_glibc_linux", lambda: True)
    monkeypatch.setattr(allocator.sys, "platform", "linux")
    env = allocator.restart_environment({"PATH": "/bin"})
    assert env == {"PATH": "/bin", "GLIBC_TUNABLES": allocator.GLIBC_TUNED}
    assert allocator.restart_environment(env) is None  # already tuned: no restart loop
    # a user's own tunables are kept, ours appended
    env = allocator.restart_environment({"GLIBC_TUNABLES": "glibc.cpu.x86_shstk=off"})
    assert env["GLIBC_TUNABLES"] == f"glibc.cpu.x86_shstk=off:{allocator.GLIBC_TUNED}"
    # a user's own malloc tunables win
    assert allocator.restart_environment({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}) is None
    assert allocator.restart_environment({"JAXGPT_ALLOCATOR": "system"}) is None
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: "/lib/libtcmalloc_minimal.so.4")
    env = allocator.restart_environment({"JAXGPT_ALLOCATOR": "tcmalloc", "LD_PRELOAD": "/lib/other.so"})
    assert env["LD_PRELOAD"] == "/lib/libtcmalloc_minimal.so.4 /lib/other.so" and "GLIBC_TUNABLES" not in env
    assert allocator.restart_environment(env) is None
    monkeypatch.setattr(allocator, "find_tcmalloc", lambda: None)
    assert allocator.restart_environment({"JAXGPT_ALLOCATOR": "tcmalloc"}) is None  # not installed: as is
    monkeypatch.setattr(allocator, "is_glibc_linux", lambda: False)
    assert allocator.restart_environment({}) is None  # macOS, musl: nothing to tune


# Where the restarted process's malloc puts a 64 MB buffer: glibc's defaults map it on its own
# (mallinfo2's hblkhd), the tuned malloc keeps it in the heap it reuses (arena).
SHOW_MALLOC = """
import ctypes, os
from jaxgpt.cli import allocator
print('started', flush=True)
allocator.restart_with_fast_allocator()
class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.mallinfo2.restype = MallInfo2
buffer = libc.malloc(64 << 20)
info = libc.mallinfo2()
print('mapped' if info.hblkhd >= 64 << 20 else 'heap' if info.arena >= 64 << 20 else 'unknown')
print(allocator.describe())
"""


def test_a_script_restarts_itself_and_malloc_keeps_large_buffers(tmp_path):
    script = tmp_path / "show.py"
    script.write_text(SHOW_MALLOC)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "JAXGPT_ALLOCATOR", "GLIBC_TUNABLES")}
    tuned = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert tuned.returncode == 0, tuned.stderr
    lines = tuned.stdout.splitlines()
    # started twice (the restart); the second run's malloc keeps the buffer in its heap
    assert lines[:3] == ["started", "started", "heap"] and lines[3].startswith("glibc malloc, tuned")
    opted_out = subprocess.run(
        [sys.executable, str(script)], env={**env, "JAXGPT_ALLOCATOR": "system"}, capture_output=True, text=True
    )
    assert opted_out.stdout.splitlines() == ["started", "mapped", "the system's malloc"]


def a_harmless_library() -> pathlib.Path:
    """A shared library every Linux has, to preload in tcmalloc's place (libm: it changes nothing)."""
    for folder in allocator.SEARCH_DIRS + ("/lib/x86_64-linux-gnu", "/lib/aarch64-linux-gnu", "/lib64", "/lib"):
        if (pathlib.Path(folder) / "libm.so.6").is_file():
            return pathlib.Path(folder) / "libm.so.6"
    raise AssertionError("no libm.so.6 found")


def test_tcmalloc_on_request_is_preloaded_once(tmp_path):
    # a stand-in named as tcmalloc is, in a folder the script searches first
    (tmp_path / "libtcmalloc_minimal.so.4").symlink_to(a_harmless_library())
    script = tmp_path / "show.py"
    script.write_text(
        "import os\nfrom jaxgpt.cli import allocator\n"
        f"allocator.SEARCH_DIRS = ({str(tmp_path)!r},)\n"
        "print('started', flush=True)\n"
        "allocator.restart_with_fast_allocator()\nprint(os.environ.get('LD_PRELOAD'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "GLIBC_TUNABLES")}
    env["JAXGPT_ALLOCATOR"] = "tcmalloc"
    printed = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.split() == ["started", "started", str(tmp_path / "libtcmalloc_minimal.so.4")]
