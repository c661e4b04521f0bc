"""The one driver every trainer uses: a trainer describes its `Task` (the model, its loss, its
batches, what a checkpoint saves), and `fit` starts or resumes the train state, opens the run
folder and runs the shared training loop. A trainer knows nothing of the loop, the loop nothing
of GPT or of the encoder-decoder."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable

import jax

from jaxgpt.data.sampler import SeededSampler
from jaxgpt.model.params import count_params
from jaxgpt.training.compile_ahead import CompileAhead, programs_ahead, shapes_of
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh, shard_state
from jaxgpt.training.logs.writers import check_writers
from jaxgpt.training.loop import TrainingLoop
from jaxgpt.training.run.checkpoint import Restored
from jaxgpt.training.run.folder import RunDir
from jaxgpt.training.run.restore import abstract_state
from jaxgpt.training.run.start import start_run
from jaxgpt.training.startup import StartupClock
from jaxgpt.training.step.optimizer import check_optimizer_fits, learning_rate_schedule, make_optimizer
from jaxgpt.training.step.state import TrainState, init_train_state, with_loss_scale


@dataclasses.dataclass
class Task:
    """What to train and how to measure it."""

    run_config: dict  # config.json, and the first part of every checkpoint's JSON: kind, model, train...
    model: Any  # a Flax module
    example_inputs: tuple  # inputs to initialise the model on, e.g. token ids [1, T]
    loss: Callable  # loss(params, batch, dropout_key=None) -> scalar; see jaxgpt.training.step.loss
    sampler: SeededSampler  # sampler.sample(A, B): one step's arrays [A, B, ...]; its state is checkpointed
    eval_batches: Callable[[str], list]  # the batches [B, ...] of "train" or "val", the same at every evaluation
    tokens_per_iter: int
    flops_per_token: Callable[[int], float]  # from the parameter count: for MFU
    checkpoint_extra: dict = dataclasses.field(default_factory=dict)  # more JSON for checkpoints (a tokenizer)
    title: str = ""  # said before the parameter count, e.g. "task reverse"
    # what the run reports once trained, from its final parameters (every process calls it):
    # (scalars, texts) written by the run's writers at the last step, e.g. a sample or exact-match scores
    closing_report: Callable[[Any], tuple[dict, dict]] | None = None
    # the closing report's program lowered for the parameters' shapes, to compile it while training runs
    lower_closing_report: Callable[[Any], Any] | None = None

    def checkpoint_meta(self, sampler_state: dict) -> dict:
        """The JSON saved beside the arrays: enough to rebuild the model and resume exactly
        (`sampler_state`: the sampler's state before the first batch not yet trained on)."""
        return {**self.run_config, **self.checkpoint_extra, "sampler_state": sampler_state}


@dataclasses.dataclass
class Fitted:
    state: TrainState
    best_val_loss: float
    last_losses: dict | None  # the last evaluation's {"train": ..., "val": ...}
    report: tuple[dict, dict] = ({}, {})  # the task's closing (scalars, texts)


@contextlib.contextmanager
def open_run(config: TrainConfig, kind: str, move_old_run: bool = False):
    """(run folder, device mesh, restored checkpoint or None) for a `kind` run ("gpt" or "seq2seq"),
    held by this run until the block ends: the folder locked and checked before anything is loaded
    or written and, when resuming, the newest checkpoint that verifies."""
    if not config.eval_only:
        check_writers(config)  # an optional logger's package is missing: say so before anything happens
    with RunDir.for_training(config, kind, move_old_run) as run:
        mesh = data_mesh(spec=config.mesh)
        restored = None
        if config.init_from == "resume":
            restored = run.resume(config, lambda meta: abstract_state(meta, mesh, kind))
        yield run, mesh, restored


def fit(
    config: TrainConfig,
    task: Task,
    run: RunDir,
    mesh,
    restored: Restored | None = None,
    params=None,
    echo=print,
    move_old_run: bool = False,
    progress: bool = True,
) -> Fitted:
    """Train `task` as `config` says, on `mesh`, into `run`'s folder: from the `restored`
    checkpoint (resuming), from `params` (pretrained weights) or from fresh weights. The schedule
    and the optimizer are made here, once, and handed to the loop."""
    clock = StartupClock()
    schedule = learning_rate_schedule(config)
    optimizer = make_optimizer(config, schedule)
    if restored is not None:
        check_optimizer_fits(restored.state.opt_state, restored.state.params, optimizer, run.path)
        state = with_loss_scale(restored.state, config.dtype, mesh)
        task.sampler.state = restored.meta["sampler_state"]
        echo(f"resuming from iteration {restored.step} in {run.path}")
    else:
        fresh = init_train_state(
            task.model, optimizer, config.seed, task.example_inputs, params, config.dropout_rng, config.dtype
        )
        state = shard_state(fresh, mesh)
    clock.mark("initialisation")
    files = start_run(run, config, task.run_config, move_old_run, echo, restored)
    writers = files.writers if files is not None else None
    ahead = CompileAhead(programs_ahead(config.compile_ahead))  # compile_ahead.py
    try:
        n_params = count_params(state.params)
        title = f"{task.title}: " if task.title else ""
        echo(
            f"{title}{n_params / 1e6:.2f}M parameters, {task.tokens_per_iter:,} tokens per iteration, "
            f"{mesh.size} device(s), computing in {config.dtype}"
        )
        flops_per_iter = task.flops_per_token(n_params) * task.tokens_per_iter
        loop = TrainingLoop(
            config, task, state, optimizer, schedule, mesh, files, restored, flops_per_iter, progress, clock, ahead
        )
        reporting = task.closing_report is not None and not config.eval_only
        if reporting and task.lower_closing_report is not None and jax.process_count() == 1:
            params = shapes_of(state.params)
            ahead.start("closing report", lambda: task.lower_closing_report(params))
        fitted = Fitted(*loop.run())
        if reporting:
            ahead.wait("closing report")
            fitted.report = scalars, texts = task.closing_report(fitted.state.params)
            step = int(fitted.state.step)
            if writers:  # process 0
                if scalars:  # an empty record would still be a line of metrics.jsonl
                    writers.record(step, scalars)
                for name, text in texts.items():
                    writers.text(step, name, text)
        return fitted
    finally:
        ahead.close()
        try:  # the last save finishes on orbax's thread while the closing report is written
            if files is not None and files.checkpoints is not None:
                files.checkpoints.wait()
                files.checkpoints.close()
        finally:
            if writers:  # loss.png redrawn, TensorBoard's buffer written, the W&B run ended: however training ends
                writers.close()
