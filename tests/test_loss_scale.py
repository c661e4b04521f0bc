"""float16's dynamic loss scale: GradScaler's rule, an overflow skips exactly its step, and a
resumed float16 run continues bitwise (the scale is in the checkpoint)."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from test_train import TINY, example_inputs, metric_losses, tiny_train_config

import jaxgpt.training.step.loss_scale as loss_scale_module
from jaxgpt import GPT
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.loss_scale import LossScale
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step
from jaxgpt.training.train_gpt import train

pytestmark = pytest.mark.xdist_group("test_loss_scale")


def test_the_scale_halves_on_an_overflow_and_doubles_after_growth_interval_finite_steps():
    scale = LossScale.initial(1024.0, growth_interval=3)
    history = []
    for finite in [True, True, False, True, True, True, True]:
        scale = scale.adjust(jnp.bool_(finite))
        history.append((float(scale.scale), int(scale.good_steps)))
    # an overflow halves the scale and restarts the count; the 3rd finite step in a row doubles it
    assert history == [(1024, 1), (1024, 2), (512, 0), (512, 1), (512, 2), (1024, 0), (1024, 1)]
    assert int(scale.skipped_steps) == 1
    grads = scale.unscale({"w": jnp.array([1024.0, -2048.0], jnp.float16)})
    assert grads["w"].dtype == jnp.float32 and grads["w"].tolist() == [1.0, -2.0]


@pytest.fixture(scope="module")
def float16_step(shakespeare_path):
    config = TrainConfig(batch_size=8, learning_rate=3e-3, warmup_iters=0, lr_decay_iters=100, dtype="float16")
    model = GPT(dataclasses.replace(TINY, dropout=0.0))
    optimizer = make_optimizer(config)
    step = make_train_step(language_model_loss(model, config), optimizer, config)
    batches = BatchSampler(Dataset.from_text(shakespeare_path.read_text()).train, 32, seed=0)
    fresh = lambda: init_train_state(model, optimizer, 0, example_inputs(model), dtype="float16")  # noqa: E731
    return step, fresh, [batches.sample(1, 8) for _ in range(4)]


def copy(state):
    return jax.tree.map(jnp.copy, state)  # the step donates its input state


def test_an_overflow_skips_exactly_that_step_and_halves_the_scale(float16_step):
    step, fresh, batches = float16_step
    # run A: three steps on batches 0, 1, 2
    a = fresh()
    for batch in batches[:3]:
        a, _ = step(a, *batch)
    # run B: batch 0, then batch 1 with a scale so large that float16 gradients overflow
    b, _ = step(fresh(), *batches[0])
    before = copy(b)
    overflowing = b.replace(loss_scale=b.loss_scale.replace(scale=jnp.float32(2.0**40)))
    b, metrics = step(overflowing, *batches[1])
    assert not np.isfinite(float(metrics["grad_norm"])) and np.isfinite(float(metrics["loss"]))
    assert int(b.step) == 2 and int(b.loss_scale.skipped_steps) == 1
    assert float(b.loss_scale.scale) == 2.0**39  # halved
    # skipped: the parameters and Adam's moments and count are those from before the step
    for kept, was in zip(jax.tree.leaves((b.params, b.opt_state)), jax.tree.leaves((before.params, before.opt_state))):
        np.testing.assert_array_equal(kept, was)
    # with the scale back, batches 1 and 2 give run A's parameters exactly: only that one step was lost
    b = b.replace(loss_scale=b.loss_scale.replace(scale=jnp.float32(2.0**16)))
    for batch in batches[1:3]:
        b, _ = step(b, *batch)
    for x, y in zip(jax.tree.leaves(a.params), jax.tree.leaves(b.params)):
        np.testing.assert_array_equal(x, y)


def test_a_float16_run_resumes_bitwise_with_its_loss_scale(tmp_path, shakespeare_path, monkeypatch):
    # start far too high: the first steps overflow and halve the scale, so a resume that forgot the
    # scale (or its count of finite steps) would skip those steps again and differ
    monkeypatch.setattr(loss_scale_module, "INITIAL_SCALE", 2.0**30)
    settings = dict(dtype="float16", max_iters=40, eval_interval=20, lr_decay_iters=40, always_save_checkpoint=True)
    straight = train(
        tiny_train_config(tmp_path / "a", shakespeare_path, **settings), TINY, progress=False, echo=lambda *_: None
    )
    first_half = tiny_train_config(tmp_path / "b", shakespeare_path, **{**settings, "max_iters": 20})
    train(first_half, TINY, progress=False, echo=lambda *_: None)
    resumed = train(
        dataclasses.replace(first_half, max_iters=40, init_from="resume"), progress=False, echo=lambda *_: None
    )
    skipped = int(straight.state.loss_scale.skipped_steps)
    assert 0 < skipped < 20  # the overflows came before the checkpoint at 20
    assert int(resumed.state.loss_scale.skipped_steps) == skipped
    assert float(resumed.state.loss_scale.scale) == float(straight.state.loss_scale.scale) < 2.0**30
    expected, got = metric_losses(tmp_path / "a" / "out"), metric_losses(tmp_path / "b" / "out")
    assert [got[i] for i in range(21, 41)] == [expected[i] for i in range(21, 41)]
    for x, y in zip(jax.tree.leaves(straight.state.params), jax.tree.leaves(resumed.state.params)):
        np.testing.assert_array_equal(x, y)


def test_a_run_resumed_in_another_dtype_gains_or_drops_its_loss_scale(tmp_path, shakespeare_path):
    settings = dict(max_iters=10, eval_interval=10, warmup_iters=2, lr_decay_iters=30, dtype="float32")
    first = tiny_train_config(tmp_path, shakespeare_path, **settings)
    assert train(first, TINY, progress=False, echo=lambda *_: None).state.loss_scale is None
    as_float16 = dataclasses.replace(first, init_from="resume", max_iters=20, dtype="float16")
    resumed = train(as_float16, progress=False, echo=lambda *_: None)
    assert float(resumed.state.loss_scale.scale) == 2.0**16 and int(resumed.state.step) == 20
    as_float32 = dataclasses.replace(first, init_from="resume", max_iters=30)
    assert train(as_float32, progress=False, echo=lambda *_: None).state.loss_scale is None
