"""TensorBoard events: the scalars of metrics.jsonl, read back with TensorBoard's own reader, and a
resumed run's events with every step once."""

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from jaxgpt.training.metrics import MetricsLog


def read_events(out_dir) -> EventAccumulator:
    events = EventAccumulator(str(out_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    return events


def test_the_logged_scalars_are_tensorboard_events(tmp_path):
    log = MetricsLog(tmp_path)
    for step in (5, 10):
        log.step(step, 3.0 - step / 10, 1e-3, 12.0, 1000.0, 0.25, grad_norm=0.7, param_norm=30.0)
    log.evaluation(10, 2.4, 2.5, 1e-3)
    log.close()
    events = read_events(tmp_path)
    assert [(e.step, e.value) for e in events.Scalars("train/loss")] == [(5, 2.5), (10, 2.0)]
    assert [e.value for e in events.Scalars("eval/val_loss")] == [2.5]
    for tag, value in [("train/grad_norm", 0.7), ("train/param_norm", 30.0), ("speed/mfu", 0.25)]:
        assert abs(events.Scalars(tag)[-1].value - value) < 1e-6


def test_a_resumed_run_has_every_step_once(tmp_path):
    first = MetricsLog(tmp_path)
    for step in (5, 10, 15, 20):  # a crash after step 20, the last checkpoint at 10
        first.step(step, float(step), 1e-3, 1.0, 1.0, 0.0)
    first.close()
    MetricsLog(tmp_path).keep_until(10)  # what resuming from iteration 10 does
    again = MetricsLog(tmp_path)
    for step in (15, 20, 25):
        again.step(step, -float(step), 1e-3, 1.0, 1.0, 0.0)
    again.close()
    scalars = read_events(tmp_path).Scalars("train/loss")
    assert [(e.step, e.value) for e in scalars] == [(5, 5.0), (10, 10.0), (15, -15.0), (20, -20.0), (25, -25.0)]
