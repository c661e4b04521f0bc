"""Where a run's time goes before its first step, said in one line once that step is done: the
start-up (the interpreter, the allocator restart, imports, data, the run folder), the model's
initialisation, the first evaluation and the first step (each with the compilation of its step, or
its reading from the compilation cache). Counted from the command's start when a script began
it (cli/allocator.py notes the time before anything is imported), else from the start of `fit`."""

from __future__ import annotations

import os
import time

STARTED_AT = "JAXGPT_COMMAND_STARTED_AT"  # set by cli/allocator.py's restart_with_fast_allocator


class StartupClock:
    def __init__(self):
        now = time.time()
        try:
            self.started = min(float(os.environ.get(STARTED_AT, now)), now)
        except ValueError:
            self.started = now
        self.phases = [("start-up", now - self.started)] if self.started < now else []
        self.last = now

    def mark(self, phase: str) -> None:
        """`phase` ended now."""
        now = time.time()
        self.phases.append((phase, now - self.last))
        self.last = now

    def line(self) -> str:
        parts = ", ".join(f"{phase} {seconds:.1f} s" for phase, seconds in self.phases)
        return f"first step done {self.last - self.started:.1f} s after the start: {parts}"
