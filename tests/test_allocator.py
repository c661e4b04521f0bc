"""The scripts' allocator restart: tcmalloc preloaded where installed, never twice, and off on request."""

import os
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


def test_a_restarted_script_runs_with_tcmalloc_when_installed(tmp_path):
    script = tmp_path / "show.py"
    script.write_text(
        "import os\nfrom jaxgpt.cli.allocator import restart_with_tcmalloc\n"
        "restart_with_tcmalloc()\nprint(os.environ.get('LD_PRELOAD'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "JAXGPT_ALLOCATOR")}
    printed = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=120)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.strip() == str(allocator.find_tcmalloc())  # the path, or "None" where not installed
