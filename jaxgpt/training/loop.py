"""The training loop every trainer shares: evaluate, checkpoint, step, log, until max_iters.

It knows a task only through `jaxgpt.training.trainer.Task` (its loss, batches and checkpoint
JSON) and writes only through the run folder's writers (`RunFiles`: checkpoints and metrics)."""

from __future__ import annotations

import math
import pathlib
import time

import jax
import optax
from tqdm import tqdm  # plain text bars: also in notebooks, without ipywidgets

from jaxgpt.errors import JaxgptError
from jaxgpt.training.checkpoint import Restored
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.distributed import is_main_process
from jaxgpt.training.interrupt import StopRequests, TrainingInterrupted
from jaxgpt.training.mfu import mesh_peak_flops
from jaxgpt.training.optimizer import learning_rate_schedule
from jaxgpt.training.prefetch import Prefetcher
from jaxgpt.training.profiling import StepProfiler
from jaxgpt.training.run_dir import RunFiles
from jaxgpt.training.sharding import shard_batch
from jaxgpt.training.state import TrainState, all_finite
from jaxgpt.training.step import estimate_loss, make_eval_step, make_train_step

SPLITS = ("train", "val")


class TrainingError(JaxgptError):
    """Training cannot go on (a NaN loss, a failed device); the message says what is kept and what to try."""


def restored_losses(restored: Restored | None) -> dict | None:
    """The evaluation a restored checkpoint was saved with, if it was saved after one."""
    if restored is None or restored.meta.get("val_loss") is None:
        return None
    return {"train": restored.meta["train_loss"], "val": restored.meta["val_loss"]}


def training_loop(
    config: TrainConfig,
    task,
    state: TrainState,
    optimizer: optax.GradientTransformation,
    mesh,
    files: RunFiles | None,
    restored: Restored | None,
    flops_per_iter: float,
    progress: bool = True,
):
    """Train `task` (a `Task`) from `state` until config.max_iters; returns (state, best_val_loss,
    last_losses). With `files` None nothing is written (eval_only, benchmarks). A run
    resumed from `restored` keeps its best validation loss, and its evaluation at that step is
    not repeated, nor logged twice.

    Ctrl-C or SIGTERM: the step in progress ends, a checkpoint of it is saved, and
    TrainingInterrupted says how to resume."""
    train_step = make_train_step(task.loss, optimizer, config, jax.tree.map(lambda a: a.sharding, state), mesh)
    eval_step = make_eval_step(task.loss)
    schedule = learning_rate_schedule(config)
    main = is_main_process()  # only process 0 prints and writes metrics; all take part in checkpoints
    checkpoints = files.checkpoints if files is not None else None
    writing = checkpoints is not None
    log = files.metrics if files is not None else None
    say = print if main else lambda *_: None
    peak = mesh_peak_flops(mesh, given=config.peak_flops)
    A, B = config.gradient_accumulation_steps, config.batch_size
    best_val_loss = math.inf if restored is None else restored.meta["best_val_loss"]
    last_losses = restored_losses(restored)

    def kept_text() -> str:
        kept = checkpoints.latest_step() if writing else None
        if kept is None:
            return "no checkpoint was written"
        return f"the last good checkpoint (iteration {kept}) in {checkpoints.directory} is intact"

    def stop_on(bad_value, what: str, step: int):
        if writing:
            checkpoints.wait()
        raise TrainingError(
            f"{what} is {bad_value} at iteration {step}: training stopped; {kept_text()}. "
            "Lower --learning_rate or --grad_clip and resume"
        )

    step = int(state.step)
    saved_step = step if writing and step in checkpoints.steps() else None  # resumed: `step` is saved already
    losses = None if config.eval_only else last_losses  # the evaluation at `step`, once done

    def save(step: int, losses: dict | None, sampler_state: dict) -> None:
        nonlocal saved_step
        if not bool(all_finite(state.params)):
            stop_on("nan", "a parameter", step)
        meta = {
            **task.checkpoint_meta(sampler_state),
            "iter": step,
            "best_val_loss": best_val_loss,
            "train_loss": None if losses is None else losses["train"],
            "val_loss": None if losses is None else losses["val"],
        }
        checkpoints.save(step, state, meta, val_loss=None if losses is None else losses["val"])
        saved_step = step

    def stop_here(signal_name: str, step: int, sampler_state: dict) -> TrainingInterrupted:
        if not writing:
            return TrainingInterrupted(f"stopped by {signal_name} at iteration {step}", signal_name)
        if step != saved_step:
            save(step, losses, sampler_state)
        if log:
            log.plot()
            log.close()
        checkpoints.wait()
        if step >= config.max_iters:
            return TrainingInterrupted(
                f"stopped by {signal_name} at the last iteration, {step}: the run is complete, in {checkpoints.directory}",
                signal_name,
            )
        return TrainingInterrupted(
            f"stopped by {signal_name} at iteration {step}, saved in {checkpoints.directory}: "
            "run the same command with --init_from resume to continue",
            signal_name,
        )

    eval_sets = {}  # each split's evaluation batches, put on the mesh once: every evaluation uses the same

    def evaluate() -> dict:
        if not eval_sets:
            eval_sets.update({split: [shard_batch(b, mesh) for b in task.eval_batches(split)] for split in SPLITS})
        return estimate_loss(eval_step, state.params, eval_sets)

    bar = tqdm(total=config.max_iters, initial=step, disable=not (progress and main), unit="it", dynamic_ncols=True)
    t_last, step_last = time.perf_counter(), step
    train_seconds, first_step = 0.0, step  # time in train steps alone (evaluations and saves excluded)
    logged = None  # (step, metrics) of a step to log, read once the step after it is queued

    def read_logged() -> None:
        """Log the step in `logged`: reading its loss waits for that step alone, while the next
        one is already queued on the devices, so the devices never wait for the host."""
        nonlocal logged, t_last, step_last, train_seconds
        if logged is None:
            return
        (logged_step, metrics), logged = logged, None
        loss = float(metrics["loss"])
        if not math.isfinite(loss):
            stop_on(loss, "the training loss", logged_step)
        now = time.perf_counter()
        train_seconds += now - t_last
        seconds_per_iter = (now - t_last) / (logged_step - step_last)
        t_last, step_last = now, logged_step
        tokens_per_sec = task.tokens_per_iter / seconds_per_iter
        mfu = flops_per_iter / seconds_per_iter / peak
        grad_norm, param_norm = float(metrics["grad_norm"]), float(metrics["param_norm"])
        loss_scale = float(metrics["loss_scale"]) if "loss_scale" in metrics else None
        if log:
            log.step(
                logged_step,
                loss,
                float(metrics["lr"]),
                1000 * seconds_per_iter,
                tokens_per_sec,
                mfu,
                grad_norm,
                param_norm,
                loss_scale,
            )
        bar.set_postfix(
            loss=f"{loss:.4f}",
            gnorm=f"{grad_norm:.3g}",
            lr=f"{float(metrics['lr']):.2e}",
            tok_s=f"{tokens_per_sec:,.0f}",
            mfu=f"{100 * mfu:.1f}%",
            **({} if loss_scale is None else {"scale": f"{loss_scale:g}"}),
            refresh=False,
        )

    batches = Prefetcher(task.sampler, (A, B), mesh)
    profiler = StepProfiler(config.profile_steps, pathlib.Path(config.out_dir) / "profile", say=bar.write)
    try:
        # the bar, the signal handlers and the prefetching thread end however the loop ends
        with StopRequests(enabled=jax.process_count() == 1) as stop, bar, batches:
            while True:
                if losses is None and (
                    step % config.eval_interval == 0 or step == config.max_iters or config.eval_only
                ):
                    read_logged()
                    losses = evaluate()
                    for split, value in losses.items():
                        if not math.isfinite(value):
                            stop_on(value, f"the {split} loss", step)
                    last_losses = losses
                    if log:
                        log.evaluation(step, losses["train"], losses["val"], float(schedule(step)))
                    if main:
                        bar.write(f"step {step}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
                    improved = losses["val"] < best_val_loss
                    best_val_loss = min(best_val_loss, losses["val"])
                    final = step == config.max_iters
                    wanted = improved or config.always_save_checkpoint or final
                    if writing and step > 0 and step != saved_step and wanted:
                        save(step, losses, batches.sampler_state)
                    t_last, step_last = time.perf_counter(), step  # evaluation time is not training time
                if step >= config.max_iters or config.eval_only:
                    break
                if stop.signal_name is not None:
                    read_logged()
                    raise stop_here(stop.signal_name, step, batches.sampler_state)

                profiler.before_step(step)
                state, metrics = train_step(state, *batches.next())  # queued: runs while the host goes on
                step += 1
                profiler.after_step(step, state)
                losses = None
                read_logged()  # the step before, if it is to be logged
                if step % config.log_interval == 0 or step == config.max_iters:
                    logged = (step, metrics)
                bar.update(step - bar.n)
            read_logged()
            if stop.signal_name is not None:  # it came during the last evaluation: stop here, as asked
                raise stop_here(stop.signal_name, step, batches.sampler_state)
    except jax.errors.JaxRuntimeError as error:  # out of device memory, a device lost
        reason = str(error).splitlines()[0]
        raise TrainingError(f"the device failed at iteration {step} ({reason}); {kept_text()}") from error
    finally:
        profiler.close()  # a trace cut short (Ctrl-C, an error) is still written
    if step > first_step and not config.eval_only:
        say(f"{step - first_step} iterations in {train_seconds:.1f} s of training (first compile included)")
        if state.loss_scale is not None:
            say(
                f"float16: {int(state.loss_scale.skipped_steps)} of {step} steps skipped for a gradient overflow "
                f"so far, loss scale now {float(state.loss_scale.scale):g}"
            )
    if log:
        log.plot()
        log.close()
    if writing:
        checkpoints.wait()
        checkpoints.close()
    return state, best_val_loss, last_losses
