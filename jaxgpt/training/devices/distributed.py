"""Several processes, one training run: JAX's own distributed runtime (`jax.distributed`).

Every host (or every process on one host) runs the same `scripts/train.py`. Once joined, the
devices of all processes form one global `Mesh`; a jitted step runs on all of them and XLA moves
data between them (NCCL on GPUs, the TPU interconnect, gloo over TCP for CPUs). Each process puts
only its own rows of the global batch on its own devices; only process 0 writes logs and samples;
every process takes part in saving and restoring checkpoints.

How a process learns its place, first match wins:
1. the flags --coordinator_address host:port --num_processes N --process_id i;
2. the environment: JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES, JAX_PROCESS_ID;
3. --coordinator_address auto: JAX detects the cluster itself (Cloud TPU pod slices, SLURM, Open MPI).
With none of these, training runs as the one and only process.
"""

from __future__ import annotations

import os

import jax

from jaxgpt.errors import InputError

ENVIRONMENT = {
    "coordinator_address": "JAX_COORDINATOR_ADDRESS",
    "num_processes": "JAX_NUM_PROCESSES",
    "process_id": "JAX_PROCESS_ID",
}


def distributed_settings(coordinator_address=None, num_processes=None, process_id=None, environ=None) -> dict | None:
    """The settings to join with: flags over environment variables; None for a single process."""
    environ = os.environ if environ is None else environ
    given = {"coordinator_address": coordinator_address, "num_processes": num_processes, "process_id": process_id}
    settings = {name: value if value is not None else environ.get(ENVIRONMENT[name]) for name, value in given.items()}
    if all(value is None for value in settings.values()):
        return None
    if settings["coordinator_address"] == "auto":
        return {}  # jax.distributed.initialize() detects the cluster
    missing = [name for name, value in settings.items() if value is None]
    if missing:
        raise InputError(
            f"a multi-process run needs --coordinator_address, --num_processes and --process_id (or "
            f"{', '.join(ENVIRONMENT.values())}); missing: {', '.join(missing)}"
        )
    for name in ("num_processes", "process_id"):
        if not str(settings[name]).isdigit():
            raise InputError(f"--{name} must be an integer >= 0, got {settings[name]!r}")
        settings[name] = int(settings[name])
    if not 0 <= settings["process_id"] < settings["num_processes"]:
        raise InputError(
            f"--process_id {settings['process_id']} must be in 0 .. {settings['num_processes'] - 1} "
            f"for --num_processes {settings['num_processes']}"
        )
    if ":" not in settings["coordinator_address"]:
        raise InputError(
            f"--coordinator_address {settings['coordinator_address']!r} must be host:port (process 0's address)"
        )
    return settings


def initialize(coordinator_address=None, num_processes=None, process_id=None) -> bool:
    """Join the run when flags or environment say so (call before anything else uses JAX).
    Returns True when this is a multi-process run."""
    settings = distributed_settings(coordinator_address, num_processes, process_id)
    if settings is None:
        return False
    try:
        jax.distributed.initialize(**settings)
    except (ValueError, RuntimeError) as error:  # e.g. "auto" where no cluster can be detected
        where = settings.get("coordinator_address", "auto")
        raise InputError(
            f"could not join the run at --coordinator_address {where} ({str(error).splitlines()[0]}): "
            "check the address, the process count and id, or run as one process"
        ) from None
    return True


def is_main_process() -> bool:
    """Process 0 writes logs, metrics and samples; the others stay quiet."""
    return jax.process_index() == 0
