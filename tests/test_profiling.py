"""--profile START:STOP: a trace of exactly those steps, readable by Perfetto, and a clear rule."""

import gzip
import json

import jax
import jax.numpy as jnp
import pytest

from jaxgpt.errors import InputError
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.profiling import StepProfiler


@jax.jit
def traced_train_step(x):
    return jnp.tanh(x @ x.T).sum()


def test_the_trace_covers_the_steps_asked_for_and_perfetto_can_read_it(tmp_path):
    said = []
    profiler = StepProfiler((2, 4), tmp_path / "profile", say=said.append)
    x = jnp.ones((64, 64))
    traced_train_step(x).block_until_ready()  # compiled before the trace
    for step in range(6):
        profiler.before_step(step)
        assert profiler.tracing == (2 <= step < 4)
        result = traced_train_step(x)
        profiler.after_step(step + 1, result)
    profiler.close()  # nothing left to close: the trace ended at iteration 4
    (trace_file,) = (tmp_path / "profile").glob("plugins/profile/*/perfetto_trace.json.gz")
    events = json.loads(gzip.decompress(trace_file.read_bytes()))
    names = {event.get("name", "") for event in events["traceEvents"]}
    assert any("traced_train_step" in name for name in names)
    assert said == [
        f"profile of iterations 2-4: open {trace_file} in ui.perfetto.dev, or run tensorboard --logdir "
        f"{tmp_path / 'profile'} (with tensorboard-plugin-profile)"
    ]


@pytest.mark.parametrize(
    "profile, message",
    [
        ("10", "profile='10' must be START:STOP, two iterations with START < STOP, e.g. 10:20"),
        ("20:10", "profile='20:10' must be START:STOP"),
        ("a:b", "profile='a:b' must be START:STOP"),
        ("10:200", "profile='10:200' ends past max_iters=100: trace earlier steps"),
    ],
)
def test_a_profile_that_cannot_be_traced_is_a_one_line_error(profile, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace("?", r"\?")):
        TrainConfig(max_iters=100, profile=profile)
    assert TrainConfig(max_iters=100, profile="10:20").profile_steps == (10, 20)
