"""Stopping on request: Ctrl-C (SIGINT) and SIGTERM (a preempted Colab, Kaggle or TPU VM, a
scheduler ending a job) ask the training loop to stop. It finishes the step it is in, saves a
checkpoint of that step and ends with a `TrainingInterrupted` that says how to resume; resuming
continues exactly, as if nothing had happened. A second Ctrl-C stops at once, without saving.

In a multi-process run the processes would have to agree on the step to stop at, so there a signal
ends the process as it would any program; the last complete checkpoint is kept, as after a crash."""

from __future__ import annotations

import signal
import threading

from jaxgpt.errors import JaxgptError

EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}  # 128 + the signal's number, as shells report it


class TrainingInterrupted(JaxgptError):
    """Training stopped on a signal after saving a checkpoint; the message says how to resume."""

    def __init__(self, message: str, signal_name: str):
        super().__init__(message)
        self.exit_code = EXIT_CODES[signal_name]


class StopRequests:
    """While active (a `with` block in the main thread), SIGINT and SIGTERM set `signal_name`
    instead of ending the program; the loop checks it between steps."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.signal_name: str | None = None
        self._previous: dict = {}

    def _request(self, signum, frame):
        name = signal.Signals(signum).name
        if name == "SIGINT" and self.signal_name == "SIGINT":
            raise KeyboardInterrupt  # pressed twice: the user wants out now
        self.signal_name = name

    def __enter__(self):
        if self.enabled and threading.current_thread() is threading.main_thread():  # signals reach it only
            for signum in (signal.SIGINT, signal.SIGTERM):
                self._previous[signum] = signal.signal(signum, self._request)
        return self

    def __exit__(self, *exc):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        return False
