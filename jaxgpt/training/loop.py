"""The training loop every trainer shares: evaluate, checkpoint, step, log, until max_iters.

It knows a task only through `jaxgpt.training.trainer.Task` (its loss, batches and checkpoint
JSON) and writes only through the run folder's `RunFiles` (checkpoints and writers). `TrainingLoop`
reads top to bottom: `run` is the loop, each of its steps a method below it."""

from __future__ import annotations

import math
import pathlib
import time

import jax
import numpy as np
import optax

from jaxgpt.errors import TrainingError
from jaxgpt.training.compile_ahead import CompileAhead, compile_steps_ahead
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.distributed import is_main_process
from jaxgpt.training.devices.mfu import MfuMeter
from jaxgpt.training.devices.prefetch import Prefetcher
from jaxgpt.training.devices.profiling import StepProfiler
from jaxgpt.training.devices.sharding import shard_batch
from jaxgpt.training.interrupt import StopRequests, TrainingInterrupted
from jaxgpt.training.logs.progress import ProgressBar, say_summary
from jaxgpt.training.run.checkpoint import Restored
from jaxgpt.training.run.start import RunFiles
from jaxgpt.training.startup import StartupClock
from jaxgpt.training.step.state import TrainState, all_finite
from jaxgpt.training.step.train_step import estimate_loss, make_eval_step, make_train_step

SPLITS = ("train", "val")


class TrainingLoop:
    """Train `task` (a `Task`) from `state` until config.max_iters. With `files` None nothing is
    written (eval_only, benchmarks). A run resumed from `restored` keeps its best validation loss,
    and its evaluation at that step is neither repeated nor logged twice.

    Ctrl-C or SIGTERM: the step in progress ends, a checkpoint of it is saved, and
    TrainingInterrupted says how to resume."""

    def __init__(
        self,
        config: TrainConfig,
        task,
        state: TrainState,
        optimizer: optax.GradientTransformation,
        schedule: optax.Schedule,
        mesh,
        files: RunFiles | None,
        restored: Restored | None,
        flops_per_iter: float,
        progress: bool = True,
        clock: StartupClock | None = None,
        ahead: CompileAhead | None = None,
    ):
        self.config, self.task, self.state, self.mesh = config, task, state, mesh
        self.schedule = jax.jit(schedule)  # one compilation, not one per operation of optax's formula
        shardings = jax.tree.map(lambda a: a.sharding, state)
        self.train_step = make_train_step(task.loss, optimizer, config, shardings, mesh, schedule)
        self.eval_step = make_eval_step(task.loss)
        self.main = is_main_process()  # only process 0 prints and writes logs; all take part in checkpoints
        self.checkpoints = files.checkpoints if files is not None else None
        self.writers = files.writers if files is not None else None
        self.mfu = MfuMeter(mesh, given=config.peak_flops)
        self.clock = clock if self.main and not config.eval_only else None  # says the start-up once, at step 1
        self.flops_per_iter = flops_per_iter
        self.best_val_loss = math.inf if restored is None else restored.meta["best_val_loss"]
        self.last_losses = None if restored is None else restored.losses
        self.step = self.first_step = int(state.step)
        resumed = self.checkpoints is not None and self.step in self.checkpoints.steps()
        self.saved_step = self.step if resumed else None  # resumed: `step` is saved already
        self.losses = None if config.eval_only else self.last_losses  # the evaluation at `step`, once done
        self.eval_sets = {  # each split's evaluation batches on the mesh, made once: every evaluation uses them
            split: [shard_batch(b, mesh) for b in task.eval_batches(split)] for split in SPLITS
        }
        self.logged = None  # (step, metrics) of a step to log, read once the step after it is queued
        self.clock_start, self.clock_step, self.train_seconds = time.perf_counter(), self.step, 0.0
        self.bar = ProgressBar(config.max_iters, self.step, enabled=progress and self.main)
        self.ahead = ahead
        if ahead is not None and ahead.wants("evaluation", "train step"):  # not on a CPU by default
            first_batch = task.sampler.peek(config.gradient_accumulation_steps, config.batch_size)
            steps = (self.eval_step, self.eval_sets["train"][0], self.train_step, first_batch)
            compile_steps_ahead(ahead, *steps, state, mesh)

    def run(self) -> tuple[TrainState, float, dict | None]:
        config = self.config  # returns (final state, best validation loss, last evaluation's losses)
        self.batches = Prefetcher(self.task.sampler, (config.gradient_accumulation_steps, config.batch_size), self.mesh)
        profiler = StepProfiler(config.profile_steps, pathlib.Path(config.out_dir) / "profile", say=self.bar.write)
        try:
            # the bar, the signal handlers and the prefetching thread end however the loop ends
            with StopRequests(enabled=jax.process_count() == 1) as stop, self.bar, self.batches:
                while True:
                    if self.evaluation_due():
                        self.evaluate_and_checkpoint()
                    if self.step >= config.max_iters or config.eval_only:
                        break
                    if stop.signal_name is not None:
                        self.log_queued_step()
                        raise self.stop_here(stop.signal_name)
                    profiler.before_step(self.step)
                    self.train_one_step()
                    profiler.after_step(self.step, self.state)
                self.log_queued_step()
                if stop.signal_name is not None:  # it came during the last evaluation: stop here, as asked
                    raise self.stop_here(stop.signal_name)
        except jax.errors.JaxRuntimeError as error:  # out of device memory, a device lost
            reason = str(error).splitlines()[0]
            raise TrainingError(f"the device failed at iteration {self.step} ({reason}); {self.kept_text()}") from error
        finally:
            profiler.close()  # a trace cut short (Ctrl-C, an error) is still written
        self.summarise()
        if self.writers:  # loss.png drawn on the writers' thread while the task writes its closing report
            self.writers.flush()
        return self.state, self.best_val_loss, self.last_losses

    def evaluation_due(self) -> bool:
        config, step = self.config, self.step
        due = step % config.eval_interval == 0 or step == config.max_iters or config.eval_only
        return self.losses is None and due

    def evaluate_and_checkpoint(self) -> None:
        """Both splits' loss; a checkpoint if it improved (or always_save_checkpoint, or the end)."""
        self.log_queued_step()
        if self.ahead is not None:
            self.ahead.wait("evaluation")
        self.losses = losses = estimate_loss(self.eval_step, self.state.params, self.eval_sets)
        for split, value in losses.items():
            if not math.isfinite(value):
                self.stop_on(value, f"the {split} loss")
        self.last_losses = losses
        if self.writers:
            lr = float(self.schedule(self.step))
            self.writers.record(self.step, {"train_loss": losses["train"], "val_loss": losses["val"], "lr": lr})
        if self.main:
            self.bar.write(f"step {self.step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
        improved = losses["val"] < self.best_val_loss
        self.best_val_loss = min(self.best_val_loss, losses["val"])
        wanted = improved or self.config.always_save_checkpoint or self.step == self.config.max_iters
        if self.checkpoints is not None and self.step > 0 and self.step != self.saved_step and wanted:
            self.save()
        self.clock_start, self.clock_step = time.perf_counter(), self.step  # evaluation time is not training time
        if self.clock is not None:
            self.clock.mark("first evaluation")

    def train_one_step(self) -> None:
        """Queue one step on the devices, then log the step before it (see `log_queued_step`)."""
        if self.ahead is not None:
            self.ahead.wait("train step")
        self.state, metrics = self.train_step(self.state, *self.batches.next())  # runs while the host goes on
        self.step += 1
        if self.clock is not None:  # the run's first step: wait for it once, to say when it was done
            jax.block_until_ready(metrics)
            self.clock.mark("first step")
            self.bar.write(self.clock.line())
            self.clock = None
        self.losses = None
        self.log_queued_step()
        if self.step % self.config.log_interval == 0 or self.step == self.config.max_iters:
            self.logged = (self.step, metrics)
        self.bar.reach(self.step)

    def log_queued_step(self) -> None:
        """Log the step in `logged`: reading its loss waits for that step alone, while the next one
        is already queued on the devices, so the devices never wait for the host."""
        if self.logged is None:
            return
        (step, metrics), self.logged = self.logged, None
        metrics = {name: np.asarray(value) for name, value in metrics.items()}  # the quickest way to the host
        loss = float(metrics["loss"])
        if not math.isfinite(loss):
            self.stop_on(loss, "the training loss", step)
        now = time.perf_counter()
        seconds_per_iter = (now - self.clock_start) / (step - self.clock_step)
        self.train_seconds += now - self.clock_start
        self.clock_start, self.clock_step = now, step
        scalars = {
            "loss": loss,
            "lr": float(metrics["lr"]),
            "grad_norm": float(metrics["grad_norm"]),  # before clipping: first to look at when a run diverges
            "param_norm": float(metrics["param_norm"]),
            "ms_per_iter": 1000 * seconds_per_iter,
            "tokens_per_sec": self.task.tokens_per_iter / seconds_per_iter,
            "mfu": self.mfu(self.flops_per_iter / seconds_per_iter),
        }
        if "loss_scale" in metrics:  # float16 runs only
            scalars["loss_scale"] = float(metrics["loss_scale"])
        if self.writers:
            self.writers.record(step, scalars)  # written on the writers' own thread
        self.bar.show(scalars, now, last=step == self.config.max_iters)

    def save(self) -> None:
        if not bool(all_finite(self.state.params)):
            self.stop_on("nan", "a parameter")
        losses = self.losses
        meta = {
            **self.task.checkpoint_meta(self.batches.sampler_state),
            "iter": self.step,
            "best_val_loss": self.best_val_loss,
            "train_loss": None if losses is None else losses["train"],
            "val_loss": None if losses is None else losses["val"],
        }
        self.checkpoints.save(self.step, self.state, meta, val_loss=None if losses is None else losses["val"])
        self.saved_step = self.step

    def kept_text(self) -> str:
        kept = self.checkpoints.latest_step() if self.checkpoints is not None else None
        if kept is None:
            return "no checkpoint was written"
        return f"the last good checkpoint (iteration {kept}) in {self.checkpoints.directory} is intact"

    def stop_on(self, bad_value, what: str, step: int | None = None):
        if self.checkpoints is not None:
            self.checkpoints.wait()
        raise TrainingError(
            f"{what} is {bad_value} at iteration {self.step if step is None else step}: training stopped; "
            f"{self.kept_text()}. Lower --learning_rate or --grad_clip and resume"
        )

    def stop_here(self, signal_name: str) -> TrainingInterrupted:
        """Ctrl-C or SIGTERM: save the step reached (if not saved yet) and say how to go on."""
        step = self.step
        if self.checkpoints is None:
            return TrainingInterrupted(f"stopped by {signal_name} at iteration {step}", signal_name)
        if step != self.saved_step:
            self.save()
        self.checkpoints.wait()
        where = self.checkpoints.directory
        if step >= self.config.max_iters:
            message = f"stopped by {signal_name} at the last iteration, {step}: the run is complete, in {where}"
        else:
            message = (
                f"stopped by {signal_name} at iteration {step}, saved in {where}: "
                "run the same command with --init_from resume to continue"
            )
        return TrainingInterrupted(message, signal_name)

    def summarise(self) -> None:
        if self.step > self.first_step and not self.config.eval_only and self.main:
            say_summary(self.step - self.first_step, self.train_seconds, self.step, self.state.loss_scale)
