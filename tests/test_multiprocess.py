"""Two processes on 127.0.0.1 (jax.distributed, gloo collectives between CPU processes) train the
same steps as one process with the same global batch: same losses, logs from process 0 only, and
a checkpoint that a single process restores."""

import json
import os
import signal
import socket
import subprocess
import sys

import numpy as np
import pytest
from conftest import FAST_COMPILE

from jaxgpt import GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.distributed import distributed_settings
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.train_gpt import train

pytestmark = pytest.mark.xdist_group("test_multiprocess")  # one worker builds the module's fixtures (conftest.py)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = {"n_layer": 1, "n_head": 2, "n_embd": 32, "block_size": 32, "dropout": 0.1}
TRAINING = {
    "batch_size": 4,
    "max_iters": 6,
    "eval_interval": 3,
    "eval_iters": 2,
    "log_interval": 1,
    "warmup_iters": 2,
    "lr_decay_iters": 6,
    "peak_flops": 1e11,  # MFU against a given peak: no matrix multiplies timed in each process
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch_two_processes(out_dir, data_file, *more_flags):
    flags = [f"--{name}={value}" for name, value in {**MODEL, **TRAINING}.items()]
    flags += ["--preset=gpt-nano", f"--data_file={data_file}", f"--out_dir={out_dir}", *more_flags]
    address = f"127.0.0.1:{free_port()}"
    # one CPU device per process: the global mesh has 2 devices, as the reference run below
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count=1 {FAST_COMPILE}",
        "JAXGPT_ALLOCATOR": "system",
    }
    processes = [
        subprocess.Popen(
            [sys.executable, "scripts/train.py", *flags]
            + [f"--coordinator_address={address}", "--num_processes=2", f"--process_id={i}"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [p.communicate(timeout=120) for p in processes]
    finally:
        for p in processes:  # never leave a process waiting for its peer
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    return [p.returncode for p in processes], outputs


RESUMED_TO = 9


def step_losses(out_dir):
    lines = (out_dir / "metrics.jsonl").read_text().splitlines()
    return [record["loss"] for record in map(json.loads, lines) if "loss" in record]


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory, shakespeare_path):
    """Two processes train 6 steps; then, the newest checkpoint damaged, two processes resume to 9."""
    out_dir = tmp_path_factory.mktemp("two-processes") / "out"
    codes, outputs = launch_two_processes(out_dir, shakespeare_path)
    assert codes == [0, 0], "\n".join(err[-2000:] for _, err in outputs)
    metadata = out_dir / "6" / "meta" / "metadata"
    metadata.write_bytes(metadata.read_bytes().replace(b'"iter": 6', b'"iter": 7'))
    codes, resumed = launch_two_processes(out_dir, shakespeare_path, "--init_from=resume", f"--max_iters={RESUMED_TO}")
    assert codes == [0, 0], "\n".join(err[-2000:] for _, err in resumed)
    return out_dir, outputs, resumed


def test_two_processes_match_one_process_and_resume_from_the_last_good_checkpoint(
    two_process_run, tmp_path, shakespeare_path
):
    out_dir, _, (resumed0, _) = two_process_run
    assert "resuming from iteration 3" in resumed0[0] and (out_dir / "damaged-6").is_dir()
    # the reference: this test process, one process with the 2 simulated devices of conftest, never stopped
    config = TrainConfig(
        out_dir=str(tmp_path / "one"), data_file=str(shakespeare_path), **{**TRAINING, "max_iters": RESUMED_TO}
    )
    train(config, GPTConfig(**MODEL), progress=False, echo=lambda *_: None)
    two, one = step_losses(out_dir), step_losses(tmp_path / "one")
    assert len(two) == len(one) == RESUMED_TO  # the history kept steps 1-3 and the resume logged 4-9
    np.testing.assert_allclose(two, one, rtol=1e-5)
    assert one[-1] < one[0]  # it learned, with dropout on: the dropout keys agree across processes too


def test_only_process_zero_writes_logs_and_both_save_a_checkpoint(two_process_run):
    out_dir, outputs, _ = two_process_run
    (out0, _), (out1, _) = outputs
    assert "step 6: train loss" in out0 and "best val loss" in out0
    # process 1 prints nothing of its own (gloo, the C++ collectives library, announces its connection)
    assert [line for line in out1.splitlines() if not line.startswith("[Gloo]")] == []
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    assert [r["iter"] for r in records if "loss" in r] == list(range(1, RESUMED_TO + 1))  # each step logged once
    _, params, tokenizer, meta = restore_model(out_dir, "latest")  # written by 2 processes, read by 1
    assert meta["iter"] == RESUMED_TO and tokenizer.vocab_size == 65
    assert params["h_0"]["attn"]["c_attn"]["kernel"].shape == (32, 96)


@pytest.mark.parametrize(
    "flags,environ,message",
    [
        ({"num_processes": 2}, {}, "missing: coordinator_address, process_id"),
        ({}, {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234", "JAX_NUM_PROCESSES": "2"}, "missing: process_id"),
        ({"coordinator_address": "10.0.0.1", "num_processes": 2, "process_id": 0}, {}, "must be host:port"),
        ({"coordinator_address": "h:1", "num_processes": 2, "process_id": 2}, {}, r"must be in 0 \.\. 1"),
        ({"coordinator_address": "h:1", "num_processes": "two", "process_id": 0}, {}, "must be an integer"),
    ],
)
def test_incomplete_distributed_settings_are_one_line_errors(flags, environ, message):
    with pytest.raises(ValueError, match=message):
        distributed_settings(**flags, environ=environ)


def test_distributed_settings_come_from_flags_then_environment():
    environ = {"JAX_COORDINATOR_ADDRESS": "10.0.0.1:1234", "JAX_NUM_PROCESSES": "4", "JAX_PROCESS_ID": "3"}
    assert distributed_settings(environ={}) is None  # a single process
    assert distributed_settings(environ=environ) == {
        "coordinator_address": "10.0.0.1:1234",
        "num_processes": 4,
        "process_id": 3,
    }
    assert distributed_settings(process_id=1, environ=environ)["process_id"] == 1
    assert distributed_settings(coordinator_address="auto", environ={}) == {}
