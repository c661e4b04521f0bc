"""Training: schedule, optimizer, accumulation, bfloat16 and float16, exact resume, checkpoints kept, NaN safety."""

import dataclasses
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import nanogpt_lr

import jaxgpt.training.loop as loop_module
from jaxgpt import GPT, GPTConfig
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.errors import TrainingError
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh
from jaxgpt.training.run.checkpoint import Checkpoints
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.optimizer import learning_rate_schedule, make_optimizer
from jaxgpt.training.step.state import abstract_train_state, init_train_state
from jaxgpt.training.step.train_step import make_train_step
from jaxgpt.training.train_gpt import train

TINY = GPTConfig(vocab_size=65, block_size=32, n_layer=2, n_head=2, n_embd=32, dropout=0.1)


def example_inputs(model):
    """A GPT's one block of token ids [1, T]: what its train state is initialised on."""
    return (np.zeros((1, model.config.block_size), np.int32),)


@pytest.fixture(scope="module")
def data(shakespeare_path):
    return Dataset.from_text(shakespeare_path.read_text())


def tiny_train_config(tmp_path, shakespeare_path, **overrides):
    fields = dict(
        out_dir=str(tmp_path / "out"),
        data_file=str(shakespeare_path),
        batch_size=4,
        eval_interval=25,
        eval_iters=2,
        log_interval=1,
        max_iters=100,
        warmup_iters=10,
        lr_decay_iters=100,
        learning_rate=3e-3,
        min_lr=3e-4,
        beta2=0.99,
        always_save_checkpoint=False,
    )
    return TrainConfig(**{**fields, **overrides})


def test_schedule_is_linear_warmup_then_cosine_to_min_lr():
    schedule = learning_rate_schedule(
        TrainConfig(learning_rate=1e-3, warmup_iters=100, lr_decay_iters=2000, min_lr=1e-4)
    )
    for it in [0, 1, 50, 100, 101, 700, 1999, 2000, 2500]:
        assert float(schedule(it)) == pytest.approx(nanogpt_lr(it, 1e-3, 100, 2000, 1e-4), rel=1e-5, abs=1e-9)
    constant = learning_rate_schedule(TrainConfig(learning_rate=1e-3, decay_lr=False))
    assert float(constant(0)) == float(constant(5000)) == pytest.approx(1e-3)


def test_weight_decay_skips_biases_and_layernorms():
    params = {"kernel": jnp.ones((2, 3)), "bias": jnp.ones((3,)), "ln": {"scale": jnp.ones((3,))}}
    config = TrainConfig(learning_rate=0.1, weight_decay=0.5, decay_lr=False, grad_clip=0.0)
    optimizer = make_optimizer(config)
    zero_grads = jax.tree.map(jnp.zeros_like, params)
    updates, _ = optimizer.update(zero_grads, optimizer.init(params), params)
    new = optax.apply_updates(params, updates)
    np.testing.assert_allclose(new["kernel"], 1.0 - 0.1 * 0.5)  # decoupled decay: p -= lr * wd * p
    np.testing.assert_array_equal(new["bias"], 1.0)
    np.testing.assert_array_equal(new["ln"]["scale"], 1.0)


def test_gradients_are_clipped_to_the_global_norm():
    params = {"a": jnp.ones((10,))}
    small, huge = {"a": jnp.full((10,), 0.1)}, {"a": jnp.linspace(1.0, 30.0, 10)}
    clipped_by_hand = {"a": huge["a"] / optax.tree.norm(huge)}  # norm 1

    def second_update(config, second_grads):
        optimizer = make_optimizer(config)
        state = optimizer.init(params)
        _, state = optimizer.update(small, state, params)
        return optimizer.update(second_grads, state, params)[0]["a"]

    with_clip = TrainConfig(grad_clip=1.0, decay_lr=False)
    without_clip = TrainConfig(grad_clip=0.0, decay_lr=False)
    np.testing.assert_allclose(second_update(with_clip, huge), second_update(without_clip, clipped_by_hand), rtol=1e-6)
    assert not np.allclose(second_update(without_clip, huge), second_update(without_clip, clipped_by_hand), rtol=1e-3)


def test_gradient_accumulation_equals_one_big_batch(data, tmp_path, shakespeare_path):
    config = tiny_train_config(tmp_path, shakespeare_path)
    model = GPT(dataclasses.replace(TINY, dropout=0.0))
    optimizer = make_optimizer(config)
    x, y = BatchSampler(data.train, 32, seed=0).sample(2, 4)
    accumulated, metrics_2 = make_train_step(
        language_model_loss(model, config), optimizer, dataclasses.replace(config, gradient_accumulation_steps=2)
    )(init_train_state(model, optimizer, 0, example_inputs(model)), x, y)
    big, metrics_1 = make_train_step(language_model_loss(model, config), optimizer, config)(
        init_train_state(model, optimizer, 0, example_inputs(model)), x.reshape(1, 8, 32), y.reshape(1, 8, 32)
    )
    assert float(metrics_2["loss"]) == pytest.approx(float(metrics_1["loss"]), rel=1e-5)
    for a, b in zip(jax.tree.leaves(accumulated.params), jax.tree.leaves(big.params)):
        np.testing.assert_allclose(a, b, atol=2e-6)
    assert int(accumulated.step) == 1


# the largest loss difference from float32 over 30 steps that each compute dtype may show: bfloat16
# keeps 8 bits of mantissa (seen: 0.005), float16 10 bits with a loss scale (seen: 0.0006)
TRACKING_TOLERANCE = {"bfloat16": 0.05, "float16": 0.005}


@pytest.fixture(scope="module")
def float32_losses(data):
    return train_30_steps(data, "float32")[0]


def train_30_steps(data, dtype):
    config = TrainConfig(batch_size=8, learning_rate=3e-3, warmup_iters=0, lr_decay_iters=100, beta2=0.99, dtype=dtype)
    model = GPT(dataclasses.replace(TINY, dropout=0.0))
    optimizer = make_optimizer(config)
    step = make_train_step(language_model_loss(model, config), optimizer, config)
    state = init_train_state(model, optimizer, 0, example_inputs(model), dtype=dtype)
    sampler, history = BatchSampler(data.train, 32, seed=0), []
    for _ in range(30):
        state, metrics = step(state, *sampler.sample(1, 8))
        history.append(float(metrics["loss"]))
    return history, state


@pytest.mark.parametrize("dtype", ["bfloat16", "float16"])
def test_16_bit_training_tracks_float32(data, float32_losses, dtype):
    losses, state = train_30_steps(data, dtype)
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree.leaves(state.params))  # float32 master weights
    assert losses[-1] < losses[0] - 0.5  # it learns
    assert max(abs(a - b) for a, b in zip(float32_losses, losses)) < TRACKING_TOLERANCE[dtype]
    if dtype == "float16":  # no overflow at the first scale on this model: every step counted
        assert float(state.loss_scale.scale) == 2.0**16 and int(state.loss_scale.skipped_steps) == 0
    else:
        assert state.loss_scale is None


def metric_losses(out_dir):
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    return {r["iter"]: r["loss"] for r in records if "loss" in r}


def test_resume_continues_exactly(tmp_path, shakespeare_path):
    """The straight run reads its text in memory; the interrupted one, the same text prepared into
    token files, read window by window from disk: the same batches, so the same run, bitwise."""
    straight = tiny_train_config(tmp_path / "a", shakespeare_path)
    result = train(straight, TINY, progress=False, echo=lambda *_: None)
    assert result.last_losses["val"] < math.log(65) - 0.8  # from ln(65) = 4.17 at init: the loss falls

    Dataset.from_text(shakespeare_path.read_text()).save(tmp_path / "prepared")
    first_half = tiny_train_config(
        tmp_path / "b", shakespeare_path, max_iters=50, data_file=None, dataset=str(tmp_path / "prepared")
    )
    train(first_half, TINY, progress=False, echo=lambda *_: None)
    resumed = train(
        dataclasses.replace(first_half, max_iters=100, init_from="resume"), progress=False, echo=lambda *_: None
    )

    expected, got = metric_losses(tmp_path / "a" / "out"), metric_losses(tmp_path / "b" / "out")
    assert sorted(got) == list(range(1, 101))
    assert [got[i] for i in range(51, 101)] == [expected[i] for i in range(51, 101)]  # bitwise on CPU
    for a, b in zip(jax.tree.leaves(result.state.params), jax.tree.leaves(resumed.state.params)):
        np.testing.assert_array_equal(a, b)
    assert resumed.last_losses == result.last_losses


def test_checkpoints_keep_the_last_n_and_the_best(tmp_path):
    checkpoints = Checkpoints(tmp_path / "ckpt", keep=2)
    state = {"w": jnp.arange(3.0)}
    for step, val_loss in [(10, 2.0), (20, 1.5), (30, 1.7), (40, 1.8), (50, 1.9)]:
        checkpoints.save(step, state, {"iter": step}, val_loss=val_loss)
    checkpoints.wait()
    assert checkpoints.steps() == [20, 40, 50] and checkpoints.best_step() == 20
    restored = checkpoints.restore(lambda meta: {"w": jax.ShapeDtypeStruct((3,), jnp.float32)}, 20)
    np.testing.assert_array_equal(restored.state["w"], [0.0, 1.0, 2.0])
    assert restored.meta == {"iter": 20, "format": 2}


def test_a_nan_stops_training_and_keeps_the_last_good_checkpoint(tmp_path, shakespeare_path, monkeypatch):
    real_make_train_step = loop_module.make_train_step

    def poisoned_make_train_step(*args):
        step = real_make_train_step(*args)

        def poisoned(state, x, y):
            state, metrics = step(state, x, y)
            if int(state.step) >= 30:  # from the 30th step on, the weights are NaN
                state = state.replace(params=jax.tree.map(lambda p: p * jnp.nan, state.params))
            return state, metrics

        return poisoned

    monkeypatch.setattr(loop_module, "make_train_step", poisoned_make_train_step)
    config = tiny_train_config(
        tmp_path, shakespeare_path, eval_interval=10, always_save_checkpoint=True, log_interval=100
    )
    with pytest.raises(TrainingError, match=r"the train loss is nan at iteration 30: .*\(iteration 20\) .* is intact"):
        train(config, TINY, progress=False, echo=lambda *_: None)
    model, params, tokenizer, meta = restore_model(config.out_dir)
    assert meta["iter"] == 20 and tokenizer.vocab_size == 65
    assert all(bool(jnp.all(jnp.isfinite(p))) for p in jax.tree.leaves(params))


def test_rbg_dropout_keys_are_reproducible_and_restorable(data):
    config = TrainConfig(batch_size=8, dropout_rng="rbg", warmup_iters=0)
    small = dataclasses.replace(TINY, n_layer=1, n_embd=16, block_size=16)  # dropout 0.1
    model, optimizer = GPT(small), make_optimizer(config)
    step = make_train_step(language_model_loss(model, config), optimizer, config)
    batch = BatchSampler(data.train, 16, seed=0).sample(1, 8)
    fresh = lambda: init_train_state(model, optimizer, 0, example_inputs(model), dropout_rng="rbg")  # noqa: E731
    assert fresh().rng.shape == (4,)  # rbg's key data; threefry's is (2,)
    assert abstract_train_state(model, optimizer, data_mesh(), example_inputs(model), "rbg").rng.shape == (4,)
    first, again = float(step(fresh(), *batch)[1]["loss"]), float(step(fresh(), *batch)[1]["loss"])
    assert first == again  # the same key, the same dropout masks
    threefry = dataclasses.replace(config, dropout_rng="threefry2x32")
    other = make_train_step(language_model_loss(model, threefry), optimizer, threefry)
    assert (
        float(other(init_train_state(model, optimizer, 0, example_inputs(model)), *batch)[1]["loss"]) != first
    )  # other masks
    with pytest.raises(ValueError, match="dropout_rng='philox' is not one of threefry2x32, rbg, unsafe_rbg"):
        TrainConfig(dropout_rng="philox")


def test_label_smoothing_in_the_language_model_loss(data):
    config = TrainConfig(label_smoothing=0.1)
    model = GPT(dataclasses.replace(TINY, dropout=0.0))
    x, y = BatchSampler(data.train, 32, seed=0).sample(2)
    params = jax.jit(model.init)(jax.random.key(0), x)["params"]
    log_probs = np.asarray(jax.nn.log_softmax(jax.jit(model.apply)({"params": params}, x)), np.float64)
    true_token = -np.take_along_axis(log_probs, y[..., None], axis=-1)[..., 0]
    # (1 - eps) on the true token and eps / V on every token
    expected = np.mean(0.9 * true_token + 0.1 * -log_probs.mean(axis=-1))
    np.testing.assert_allclose(float(jax.jit(language_model_loss(model, config))(params, (x, y))), expected, rtol=1e-5)
    plain = float(jax.jit(language_model_loss(model, TrainConfig()))(params, (x, y)))
    np.testing.assert_allclose(plain, true_token.mean(), rtol=1e-5)
