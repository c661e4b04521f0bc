"""Data and fully sharded data parallelism on 8 simulated CPU devices, and checkpoints across topologies.

The work runs in a child process: XLA fixes the number of simulated devices when JAX starts, and
this test session already started with 2."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import FAST_COMPILE

pytestmark = pytest.mark.xdist_group("test_parallel")  # one worker builds the module's fixtures (conftest.py)

CHILD = textwrap.dedent(
    """
    import json, sys, tempfile
    import jax, jax.numpy as jnp, numpy as np
    from jaxgpt import GPT, GPTConfig
    from jaxgpt.training.checkpoint import Checkpoints
    from jaxgpt.training.config import TrainConfig
    from jaxgpt.training.loss import language_model_loss
    from jaxgpt.training.optimizer import make_optimizer
    from jaxgpt.training.sharding import data_mesh, shard_batch, shard_state
    from jaxgpt.training.state import abstract_train_state, init_train_state
    from jaxgpt.training.step import make_train_step

    assert jax.device_count() == 8
    model = GPT(GPTConfig(vocab_size=64, block_size=16, n_layer=2, n_head=2, n_embd=32))
    config = TrainConfig(batch_size=8, learning_rate=1e-2, warmup_iters=2, lr_decay_iters=20, min_lr=1e-3)
    optimizer, loss = make_optimizer(config), language_model_loss(model, config)
    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 64, (1, 8, 16)).astype(np.int32) for _ in range(20)]
    batches = [(x, (x + 1) % 64) for x in inputs]  # a pattern to learn: the next token is x + 1

    def run(mesh, state, steps):
        state = shard_state(state, mesh)
        step = make_train_step(loss, optimizer, config, jax.tree.map(lambda a: a.sharding, state), mesh)
        losses = []
        for batch in steps:
            state, metrics = step(state, *shard_batch(batch, mesh, batch_axis=1))
            losses.append(float(metrics["loss"]))
        return state, losses

    one = data_mesh(jax.devices()[:1])
    example = (np.zeros((1, 16), np.int32),)
    fresh = lambda: init_train_state(model, optimizer, 0, example)
    reference_state, reference = run(one, fresh(), batches)
    result = {"one": reference}
    for spec in ("data=8", "data=4,fsdp=2"):
        state, losses = run(data_mesh(spec=spec), fresh(), batches)
        result[spec] = losses
        result[spec + " params"] = max(
            float(np.max(np.abs(np.asarray(a) - np.asarray(b))))
            for a, b in zip(jax.tree.leaves(state.params), jax.tree.leaves(reference_state.params))
        )
    fsdp_mesh = data_mesh(spec="data=4,fsdp=2")
    state, first = run(fsdp_mesh, fresh(), batches[:10])
    result["fsdp kernel spec"] = str(state.params["h_0"]["mlp"]["c_fc"]["kernel"].sharding.spec)
    with tempfile.TemporaryDirectory() as folder:
        saved = Checkpoints(folder)
        saved.save(10, state, {"iter": 10})
        saved.wait()
        restored = Checkpoints(folder).restore(lambda meta: abstract_train_state(model, optimizer, one, example), 10).state
    result["restored devices"] = len(restored.params["wte"]["embedding"].sharding.device_set)
    _, second = run(one, restored, batches[10:])
    result["resumed on one device"] = first + second
    print(json.dumps(result))
    """
)


@pytest.fixture(scope="module")
def child_result():
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count=8 {FAST_COMPILE}"}
    done = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("spec", ["data=8", "data=4,fsdp=2"])
def test_eight_devices_train_like_one(child_result, spec):
    np.testing.assert_allclose(child_result[spec], child_result["one"], rtol=1e-5, atol=1e-5)
    assert child_result["one"][-1] < child_result["one"][0] - 0.3  # and training does something
    assert child_result[spec + " params"] < 1e-4


def test_fsdp_shards_parameters(child_result):
    assert "fsdp" in child_result["fsdp kernel spec"]


def test_a_checkpoint_from_eight_devices_restores_on_one_and_continues(child_result):
    assert child_result["restored devices"] == 1
    np.testing.assert_allclose(child_result["resumed on one device"], child_result["one"], rtol=1e-5, atol=1e-5)
