"""Compiling ahead (--compile_ahead on: the steps and the closing sample compiled on worker threads
while the model initialises and trains) changes when programs compile, nothing else: the same
losses, weights and sample as a run that compiles each program at its first call."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
from runs import SMALL, small_run_config

from jaxgpt.training.compile_ahead import PROGRAMS, CompileAhead, programs_ahead
from jaxgpt.training.train_gpt import train


def test_a_run_compiled_ahead_is_the_same_run(tmp_path):
    results, records = {}, {}
    for choice in ("on", "off"):
        config = small_run_config(tmp_path / choice, compile_ahead=choice, max_iters=12)
        model = dataclasses.replace(SMALL, dropout=0.1)  # dropout: the random stream must be the same too
        results[choice] = train(config, model, progress=False, echo=lambda *_: None, sample_tokens=40)
        lines = (tmp_path / choice / "metrics.jsonl").read_text().splitlines()
        records[choice] = [
            {k: v for k, v in json.loads(line).items() if k in ("iter", "loss", "val_loss")} for line in lines
        ]
    on, off = results["on"], results["off"]
    assert records["on"] == records["off"] and len(records["on"]) > 12
    for a, b in zip(jax.tree.leaves(on.state.params), jax.tree.leaves(off.state.params)):
        np.testing.assert_array_equal(a, b)
    assert on.sample == off.sample and len(on.sample) > 40


def test_a_job_that_fails_is_left_to_the_first_call():
    ahead = CompileAhead()
    ahead.start("broken", lambda: jax.jit(lambda x: x @ x).lower(jax.ShapeDtypeStruct((2, 3), jnp.float32)))
    ahead.wait("broken")  # the shapes do not multiply: nothing raised here
    ahead.wait("never started")
    ahead.close()
    nothing = CompileAhead(wanted=())
    nothing.start("evaluation", lambda: 1 / 0)  # not wanted: never started
    assert not nothing.jobs and programs_ahead("on") == PROGRAMS and programs_ahead("off") == ()
    assert programs_ahead("auto") == (PROGRAMS if jax.default_backend() != "cpu" else ("closing report",))
