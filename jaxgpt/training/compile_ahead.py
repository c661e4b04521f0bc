"""Compiling a run's programs ahead, side by side: the evaluation step, the train step and the
closing report's sampler are lowered from their inputs' shapes and compiled on worker threads as
soon as the train state exists, while the main thread goes on (the run folder, the first
evaluation, training). XLA compiles outside Python's lock, so on a cold start (nothing in the
compilation cache) the programs compile at once on the machine's cores instead of one after the
other, and the sampler compiles while the model trains. `jitted.lower(...).compile()` fills the
caches the jitted function's own calls use: nothing compiles twice.

Before its first call of a program, the loop waits for that program's job (a program compiled
twice at once would cost twice). A job that fails is dropped: the first call compiles again and
reports the error where it always did."""

from __future__ import annotations

import concurrent.futures
from typing import Any, Callable

import jax

from jaxgpt.training.devices.sharding import batch_sharding

PROGRAMS = ("evaluation", "train step", "closing report")


def programs_ahead(choice: str) -> tuple[str, ...]:
    """The programs `--compile_ahead choice` compiles ahead: `on` all, `off` none, `auto` the
    closing report everywhere (it compiles while the model trains) and the steps on GPUs and TPUs
    only. Measured on a 2-core CPU: the closing report ahead took a cold one-iteration run from
    9.4-9.9 to 8.5-8.7 s; the steps ahead gained nothing there (XLA:CPU already compiles on both
    cores) and cost a warm run 0.1-0.4 s, the threads' tracing competing with the loop's."""
    if choice == "off":
        return ()
    if choice == "on" or jax.default_backend() != "cpu":
        return PROGRAMS
    return ("closing report",)


def shapes_of(tree):
    """The jax.ShapeDtypeStruct (shape, dtype, sharding) of every array of `tree`: what lowering needs."""
    return jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape, a.dtype, sharding=a.sharding), tree)


class CompileAhead:
    """Worker threads compiling the programs named in `wanted` ahead; `start` leaves any other to
    compile at its first call."""

    def __init__(self, wanted: tuple[str, ...] = PROGRAMS, workers: int = 2):
        self.wanted = wanted
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="jaxgpt-compile")
        self.jobs: dict[str, concurrent.futures.Future] = {}

    def wants(self, *names: str) -> bool:
        """Whether any of `names` is to be compiled ahead."""
        return any(name in self.wanted for name in names)

    def start(self, name: str, lower: Callable[[], Any]) -> None:
        """Compile `lower()` (a jax Lowered: `jitted.lower(*shapes)`) on a worker thread."""
        if not self.wants(name):
            return
        self.jobs[name] = self.pool.submit(lambda: lower().compile())

    def wait(self, name: str) -> None:
        """Wait until the job `name` (if any) has ended, compiled or failed."""
        job = self.jobs.pop(name, None)
        if job is not None:
            job.exception()  # not raised: the first call compiles again and says what is wrong

    def close(self) -> None:
        """Drop the jobs not started yet and wait for those running."""
        self.pool.shutdown(wait=True, cancel_futures=True)


def compile_steps_ahead(ahead: CompileAhead, eval_step, eval_batch, train_step, batch_AxB, state, mesh) -> None:
    """Start compiling `eval_step(state.params, *eval_batch)` and `train_step(state, *batch_AxB)`
    (arrays of the run's own: only their shapes, dtypes and shardings are read) as the jobs
    "evaluation" and "train step"."""
    params, eval_batch, state = shapes_of(state.params), shapes_of(eval_batch), shapes_of(state)
    sharding = batch_sharding(mesh, batch_axis=1)  # the train step's batch is [A, B, ...], split along B
    batch_AxB = [jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding) for x in batch_AxB]
    ahead.start("evaluation", lambda: eval_step.lower(params, *eval_batch))
    ahead.start("train step", lambda: train_step.lower(state, *batch_AxB))
