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
from conftest import FAST_COMPILE, SHAKESPEARE

from jaxgpt.training.devices.sharding import fit_batch_to_devices

pytestmark = pytest.mark.xdist_group("test_parallel")  # one worker builds the module's fixtures (conftest.py)

CHILD = textwrap.dedent(
    """
    import json, sys, tempfile
    import jax, jax.numpy as jnp, numpy as np
    from jaxgpt import GPT, GPTConfig
    from jaxgpt.training.run.checkpoint import Checkpoints
    from jaxgpt.training.config import TrainConfig
    from jaxgpt.training.step.loss import language_model_loss
    from jaxgpt.training.step.optimizer import make_optimizer
    from jaxgpt.training.devices.sharding import data_mesh, shard_batch, shard_state
    from jaxgpt.training.step.state import abstract_train_state, init_train_state
    from jaxgpt.training.step.train_step import make_train_step

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
    result["train.py"] = run_train_py(sys.argv[1])
    print(json.dumps(result))
    """
)
# scripts/train.py's defaults on this process's devices, no --batch_size: the CPU recipe's batch of
# 12 must fit them; and an explicit --batch_size the devices do not divide must be refused
TRAIN_PY = textwrap.dedent(
    """
    import contextlib, io, jax
    from jaxgpt.cli.train import train_main
    from jaxgpt.errors import InputError

    def run_train_py(out_dir):
        tiny = ["--n_layer=1", "--n_head=2", "--n_embd=16", "--block_size=16", "--max_iters=2", "--eval_iters=1",
                f"--data_file={DATA}", "--compilation_cache=False"]
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            code = train_main([*tiny, f"--out_dir={out_dir}/defaults"])
        try:
            train_main([*tiny, f"--out_dir={out_dir}/explicit", "--batch_size=12"])
            refusal = None
        except InputError as error:
            refusal = str(error)
        config = json.loads(open(f"{out_dir}/defaults/config.json").read())["train"]
        return {"devices": jax.device_count(), "exit": code, "printed": printed.getvalue(),
                "batch_size": config["batch_size"], "dtype": config["dtype"], "refusal": refusal}
    """
)


def run_child(code: str, n_devices: int, out_dir) -> dict:
    env = {**os.environ, "XLA_FLAGS": f"--xla_force_host_platform_device_count={n_devices} {FAST_COMPILE}"}
    program = f"import json, sys\nDATA = {str(SHAKESPEARE)!r}\n{TRAIN_PY}\n{code}"
    done = subprocess.run(
        [sys.executable, "-c", program, str(out_dir)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def child_result(tmp_path_factory):
    return run_child(CHILD, 8, tmp_path_factory.mktemp("eight"))


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


def test_the_default_batch_is_fitted_to_eight_devices_and_an_explicit_one_is_refused(child_result):
    run = child_result["train.py"]
    assert run["devices"] == 8 and run["exit"] == 0
    # the CPU recipe's 12 sequences per step become 16, the next multiple of 8, and train.py says so
    assert run["batch_size"] == 16
    assert "batch_size 12 x 1 micro-batch(es) per step became 16 x 1" in run["printed"]
    assert "8 device(s), computing in float32" in run["printed"]
    assert run["refusal"] == "batch_size=12 is not divisible by the 8 devices of the mesh: use a multiple of 8"


def test_the_defaults_run_unchanged_on_one_device(tmp_path):
    run = run_child("print(json.dumps(run_train_py(sys.argv[1])))", 1, tmp_path)
    assert run["devices"] == 1 and run["exit"] == 0 and run["refusal"] is None
    assert run["batch_size"] == 12 and "became" not in run["printed"]
    assert run["dtype"] == "float32"  # auto on a CPU
    assert "1 device(s), computing in float32" in run["printed"]


@pytest.mark.parametrize(
    "batch,accumulation,devices,keep,expected",
    [
        (12, 1, 1, False, (12, 1)),  # a TPU v5e-1: nothing to change
        (64, 1, 8, False, (64, 1)),  # nanoGPT's Shakespeare recipe on a v5e-8 already divides
        (12, 1, 8, False, (16, 1)),  # rounded up to the next multiple of 8
        (1, 32, 8, False, (8, 4)),  # fine-tuning: the same 32 sequences a step, in micro-batches of 8
        (12, 2, 8, False, (24, 1)),  # 24 sequences a step: one micro-batch of 24
        (1, 32, 8, True, (8, 32)),  # the user's own accumulation is kept: only the batch grows
        (5, 3, 2, False, (6, 3)),  # 15 sequences cannot be split in two: rounded up
    ],
)
def test_a_recipes_batch_is_fitted_to_the_devices(batch, accumulation, devices, keep, expected):
    fitted = fit_batch_to_devices(batch, accumulation, devices, keep_accumulation=keep)
    assert fitted == expected and fitted[0] % devices == 0
    assert fitted[0] * fitted[1] >= batch * accumulation  # never fewer sequences a step
