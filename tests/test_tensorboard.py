"""TensorBoard events: the scalars of metrics.jsonl, read back with TensorBoard's own reader, and a
resumed run's events with every step once."""

import subprocess
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from jaxgpt.training.logs.tensorboard import TensorBoardWriter


def read_events(out_dir) -> EventAccumulator:
    events = EventAccumulator(str(out_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def test_the_logged_scalars_are_tensorboard_events(tmp_path):
    log = TensorBoardWriter(tmp_path)
    for step in (5, 10):
        scalars = {"loss": 3.0 - step / 10, "lr": 1e-3, "ms_per_iter": 12.0, "tokens_per_sec": 1000.0, "mfu": 0.25}
        log.record(step, {**scalars, "grad_norm": 0.7, "param_norm": 30.0})
    log.record(10, {"train_loss": 2.4, "val_loss": 2.5, "lr": 1e-3})
    log.text(10, "sample", "ROMEO:")
    log.close()
    events = read_events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(5, 2.5), (10, 2.0)]
    assert [e.value for e in events.Scalars("eval/val_loss")] == [2.5]
    for tag, value in [("train/grad_norm", 0.7), ("train/param_norm", 30.0), ("speed/mfu", 0.25)]:
        assert abs(events.Scalars(tag)[-1].value - value) < 1e-6


def test_a_resumed_run_has_every_step_once(tmp_path):
    first = TensorBoardWriter(tmp_path)
    for step in (5, 10, 15, 20):  # a crash after step 20, the last checkpoint at 10
        first.record(step, {"loss": float(step)})
    first.close()
    again = TensorBoardWriter(tmp_path, resumed_at=10)  # what resuming from iteration 10 opens
    for step in (15, 20, 25):
        again.record(step, {"loss": -float(step)})
    again.close()
    scalars = read_events(tmp_path).Scalars("train/loss")
    assert [(e.step, e.value) for e in scalars] == [(5, 5.0), (10, 10.0), (15, -15.0), (20, -20.0), (25, -25.0)]


def test_the_writer_does_not_import_pytorch(tmp_path):
    """tensorboardX imports torch when installed (only to accept torch tensors): ~2 s at every run's start."""
    code = (
        "import sys; from jaxgpt.training.logs.tensorboard import TensorBoardWriter; "
        f"w = TensorBoardWriter({str(tmp_path)!r}); w.record(1, {{'loss': 1.0}}); w.close(); "
        "print('torch' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "False", result.stderr
    assert [e.value for e in read_events(tmp_path).Scalars("train/loss")] == [1.0]


def test_events_are_checksummed_natively():
    """tensorboardX checksums each event (CRC32C) with the crc32c package when it is installed, a
    dependency of jaxgpt: its pure-Python fallback cost ~35 us an event, the time of a small
    model's step, at every logged step. The native one gives the same checksum (RFC 3720's check
    value for "123456789")."""
    from tensorboardX import crc32c

    assert crc32c._crc32c_native is not None
    assert crc32c.crc32c(b"123456789") == crc32c._crc32c(b"123456789") == 0xE3069283
