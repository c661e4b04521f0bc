"""The run's writers work on a thread of their own: every call reaches every writer, in order, by
the time close() returns; a writer's error is raised in the training loop's thread; flush() redraws
loss.png only when records came since it was drawn."""

import threading
import time

import pytest

from jaxgpt.errors import InputError
from jaxgpt.training.logs.metrics_file import MetricsLog
from jaxgpt.training.logs.writers import Writers


class SlowWriter:
    """Takes its time over each call and notes the calls and the thread they came on."""

    def __init__(self):
        self.calls, self.threads = [], set()

    def record(self, step, scalars):
        time.sleep(0.001)
        self.calls.append(("record", step, scalars["loss"]))
        self.threads.add(threading.current_thread().name)

    def text(self, step, name, text):
        self.calls.append(("text", step, text))

    def flush(self):
        self.calls.append(("flush",))

    def close(self):
        self.calls.append(("close",))


def test_calls_reach_every_writer_in_order_by_close():
    a, b = SlowWriter(), SlowWriter()
    writers = Writers([a, b])
    for step in range(200):
        writers.record(step, {"loss": float(step)})  # returns at once: the writers are still busy
    writers.flush()
    writers.text(200, "sample", "ROMEO:")
    assert len(a.calls) < 200
    writers.close()
    expected = [("record", s, float(s)) for s in range(200)] + [("flush",), ("text", 200, "ROMEO:"), ("close",)]
    assert a.calls == expected and b.calls == expected
    assert a.threads == {"jaxgpt-writers"}  # not the caller's
    writers.close()  # twice is harmless
    assert a.calls[-1] == ("close",) and len(a.calls) == len(expected)


class FullDisk(SlowWriter):
    def record(self, step, scalars):
        if step == 3:
            raise InputError("could not write metrics.jsonl: no space left on device")
        super().record(step, scalars)


def test_a_writers_error_is_raised_in_the_callers_thread():
    writer = FullDisk()
    writers = Writers([writer])
    for step in range(5):
        writers.record(step, {"loss": 1.0})
    with pytest.raises(InputError, match="no space left"):  # at the next call, or at close: whichever comes first
        for step in range(5, 1000):
            writers.record(step, {"loss": 1.0})
            time.sleep(0.001)
        writers.close()
    writers.close()
    assert ("close",) in writer.calls  # the writers were still closed


def test_flush_redraws_the_curves_only_after_new_records(tmp_path):
    log = MetricsLog(tmp_path)
    log.record(0, {"train_loss": 4.2, "val_loss": 4.3})
    log.record(1, {"loss": 4.0})
    assert not (tmp_path / "loss.png").exists()  # the first drawing waits (plot_every) or a flush
    assert len((tmp_path / "metrics.jsonl").read_text().splitlines()) == 2  # every line already in the file
    log.flush()
    drawn = (tmp_path / "loss.png").stat().st_mtime_ns
    log.flush()
    log.close()  # nothing new since: not drawn again
    assert (tmp_path / "loss.png").stat().st_mtime_ns == drawn
    assert [r["iter"] for r in log.records()] == [0, 1]
