"""The training machinery every trainer shares: a `TrainState` (params, optimizer state, step,
rng), AdamW with its schedules, a jitted, pure `train_step(state, *batch) -> (state, metrics)` over
any loss, and `training_loop()`: evaluate, checkpoint, step, log, until max_iters."""

from __future__ import annotations

import math
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec
from tqdm import tqdm  # plain text bars: also in notebooks, without ipywidgets

from jaxgpt.training.checkpoint import Checkpoints
from jaxgpt.training.data import cache_dir
from jaxgpt.training.distributed import is_main_process
from jaxgpt.training.interrupt import StopRequests, TrainingInterrupted
from jaxgpt.training.metrics import MetricsLog
from jaxgpt.training.mfu import mesh_peak_flops
from jaxgpt.training.sharding import batch_sharding, leaf_sharding, shard_batch
from jaxgpt.training.config import TrainConfig


@flax.struct.dataclass
class TrainState:
    step: jax.Array  # optimizer steps taken
    params: Any
    opt_state: Any
    rng: jax.Array  # raw key data (uint32); the dropout key of step s is fold_in(rng, s)


class TrainingError(Exception):
    """Training cannot go on (a NaN loss); the message says what is kept and what to try."""


def noam_schedule(peak: float, warmup: int) -> optax.Schedule:
    """The 2017 paper's d_model^-0.5 * min(n^-0.5, n * warmup^-1.5) at step n = count + 1, scaled so it
    peaks at `peak` when n = warmup (the paper's base model peaks at (512 * 4000)^-0.5 = 7.0e-4)."""

    def schedule(count):
        n = jnp.asarray(count, jnp.float32) + 1.0
        return peak * math.sqrt(warmup) * jnp.minimum(n**-0.5, n * warmup**-1.5)

    return schedule


def learning_rate_schedule(config: TrainConfig) -> optax.Schedule:
    if not config.decay_lr:
        return optax.constant_schedule(config.learning_rate)
    if config.lr_schedule == "noam":
        return noam_schedule(config.learning_rate, config.warmup_iters)
    return optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=config.learning_rate,
        warmup_steps=config.warmup_iters,
        decay_steps=max(config.lr_decay_iters, 1),
        end_value=config.min_lr,
    )


def make_optimizer(config: TrainConfig) -> optax.GradientTransformation:
    """Global-norm clipping, then AdamW whose weight decay skips biases and LayerNorm (1-D) parameters."""
    adamw = optax.adamw(
        learning_rate_schedule(config),
        b1=config.beta1,
        b2=config.beta2,
        weight_decay=config.weight_decay,
        mask=lambda params: jax.tree.map(lambda p: p.ndim >= 2, params),
    )
    if config.grad_clip > 0:
        return optax.chain(optax.clip_by_global_norm(config.grad_clip), adamw)
    return adamw


def init_train_state(
    model,
    optimizer: optax.GradientTransformation,
    seed: int,
    params=None,
    example_inputs=None,
    dropout_rng: str = "threefry2x32",
) -> TrainState:
    """Step 0: fresh weights from `seed` (the model initialised on `example_inputs`, by default a
    GPT's one-block input), or the given `params` (pretrained ones). Dropout keys come from the
    `dropout_rng` generator (threefry by default; "rbg" is another of JAX's, not faster on the H200
    we measured)."""
    init_key, dropout_key = jax.random.split(jax.random.key(seed))
    if dropout_rng != "threefry2x32":
        dropout_key = jax.random.key(seed, impl=dropout_rng)
    if params is None:
        example_inputs = example_inputs or (jnp.zeros((1, model.config.block_size), jnp.int32),)
        params = model.init(init_key, *example_inputs)["params"]
    return TrainState(
        step=jnp.array(0, jnp.int32),
        params=params,
        opt_state=optimizer.init(params),
        rng=jax.random.key_data(dropout_key),
    )


def cast_params(params, dtype):
    """bfloat16 compute from float32 parameters: the gradient flows back to float32 through the cast."""
    return params if dtype == jnp.float32 else jax.tree.map(lambda p: p.astype(dtype), params)


def token_cross_entropy(logits_BxTxV, targets_BxT, label_smoothing: float = 0.0):
    """Cross-entropy of every position [B, T], in float32. With `label_smoothing` eps the target is
    (1 - eps) * one_hot + eps / V (the 2017 paper, section 5.4)."""
    logits_BxTxV = logits_BxTxV.astype(jnp.float32)
    if label_smoothing == 0.0:
        return optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, targets_BxT)
    targets_BxTxV = optax.smooth_labels(jax.nn.one_hot(targets_BxT, logits_BxTxV.shape[-1]), label_smoothing)
    return optax.softmax_cross_entropy(logits_BxTxV, targets_BxTxV)


def make_train_step(
    loss_fn, optimizer: optax.GradientTransformation, config: TrainConfig, state_sharding=None, mesh=None
):
    """A jitted `train_step(state, *batch) -> (state, metrics)`; each array of the batch is
    [A, B, ...] for A micro-batches, and `loss_fn(params, batch, dropout_key)` scores one.

    With `state_sharding` (the state's leaves' shardings) and the `mesh`, the step is compiled for
    exactly those layouts: the state in and out as given (fsdp included), every batch array split
    over the mesh along B, the metrics replicated. The state is donated: its buffers are reused
    for the new state, so pass each state once."""
    schedule = learning_rate_schedule(config)
    loss_and_grad = jax.value_and_grad(loss_fn)

    def train_step(state: TrainState, *batch_AxB):
        step_key = jax.random.fold_in(jax.random.wrap_key_data(state.rng, impl=config.dropout_rng), state.step)
        A = batch_AxB[0].shape[0]
        if A == 1:
            loss, grads = loss_and_grad(state.params, tuple(x[0] for x in batch_AxB), step_key)
        else:  # gradient accumulation: average the gradients of A micro-batches in one step

            def micro_step(grads_sum, inputs):
                i, batch_B = inputs
                loss_i, grads_i = loss_and_grad(state.params, batch_B, jax.random.fold_in(step_key, i))
                return jax.tree.map(jnp.add, grads_sum, grads_i), loss_i

            zeros = jax.tree.map(jnp.zeros_like, state.params)
            grads_sum, losses_A = jax.lax.scan(micro_step, zeros, (jnp.arange(A), tuple(batch_AxB)))
            grads, loss = jax.tree.map(lambda g: g / A, grads_sum), losses_A.mean()
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        new_state = state.replace(
            step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
        )
        metrics = {"loss": loss, "lr": schedule(state.step), "grad_norm": optax.tree.norm(grads)}
        return new_state, metrics

    def train_step_on_tuple(state: TrainState, batch_AxB: tuple):
        return train_step(state, *batch_AxB)

    if state_sharding is None:
        jitted = jax.jit(train_step_on_tuple, donate_argnums=0)
    else:
        replicated = NamedSharding(mesh, PartitionSpec())
        jitted = jax.jit(
            train_step_on_tuple,
            # one batch sharding for the whole tuple: it applies to each of its arrays
            in_shardings=(state_sharding, batch_sharding(mesh, batch_axis=1)),
            out_shardings=(state_sharding, replicated),
            donate_argnums=0,
        )
    return lambda state, *batch_AxB: jitted(state, batch_AxB)


def make_eval_step(loss_fn):
    """A jitted `eval_step(params, *batch_B) -> loss`, dropout off."""
    return jax.jit(lambda params, *batch_B: loss_fn(params, batch_B))


def estimate_loss(eval_step, params, eval_batches, mesh) -> dict:
    """Mean loss over the batches `eval_batches(split)` gives for "train" and "val"."""
    losses = {}
    for split in ("train", "val"):
        batch_losses = [eval_step(params, *shard_batch(batch, mesh)) for batch in eval_batches(split)]
        losses[split] = float(jnp.mean(jnp.stack(batch_losses)))
    return losses


@jax.jit
def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


def abstract_train_state(
    model, optimizer: optax.GradientTransformation, mesh, example_inputs=None, dropout_rng: str = "threefry2x32"
) -> TrainState:
    """Shapes, dtypes and shardings of a train state on `mesh`: the target to restore into."""
    shapes = jax.eval_shape(lambda: init_train_state(model, optimizer, 0, None, example_inputs, dropout_rng))
    # shardings for *this* mesh: a checkpoint written on another topology restores into it
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=leaf_sharding(s.shape, mesh)), shapes)


def check_optimizer_fits(state: TrainState, optimizer: optax.GradientTransformation, out_dir) -> None:
    """A restored optimizer state must have the shape this optimizer's takes (turning gradient
    clipping on or off changes it): otherwise say so now, not at the first step."""
    expected = jax.eval_shape(optimizer.init, state.params)
    if jax.tree.structure(expected) != jax.tree.structure(state.opt_state):
        raise ValueError(
            f"the optimizer settings differ from those the checkpoint in {out_dir} was trained with (turning "
            f"--grad_clip on or off changes the optimizer's state): resume with the run's own, in {out_dir}/config.json"
        )


def restored_losses(restored) -> dict | None:
    """The evaluation a restored checkpoint was saved with, if it was saved after one."""
    if restored is None or restored.meta.get("val_loss") is None:
        return None
    return {"train": restored.meta["train_loss"], "val": restored.meta["val_loss"]}


def use_compilation_cache(enabled: bool) -> None:
    """Turn on JAX's persistent compilation cache in the jaxgpt cache folder, unless it is off or
    already pointed somewhere (JAX_COMPILATION_CACHE_DIR or the user's own jax.config)."""
    if enabled and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jit"))


def training_loop(
    config: TrainConfig,
    state: TrainState,
    loss_fn,
    optimizer: optax.GradientTransformation,
    *,
    next_batch,
    eval_batches,
    checkpoint_meta,
    checkpoints: Checkpoints | None,
    mesh,
    tokens_per_iter: int,
    flops_per_iter: float,
    best_val_loss: float = math.inf,
    last_losses: dict | None = None,
    progress: bool = True,
):
    """The loop every trainer shares: evaluate, checkpoint, step, log, until max_iters.

    `loss_fn(params, batch, dropout_key)` is what to minimise (see make_train_step); `next_batch()`
    gives one step's arrays, each [A, B, ...]; `eval_batches(split)` the batches [B, ...] of
    "train" or "val"; `checkpoint_meta()` the JSON saved beside the arrays (it must hold the
    sampler's state for an exact resume). `checkpoints` is None to evaluate only (eval_only):
    nothing is written then. A resumed run passes the restored checkpoint's `best_val_loss` and
    `last_losses` (its evaluation at that step, if any: not repeated, nor logged twice).

    Ctrl-C or SIGTERM: the step in progress ends, a checkpoint of it is saved, and
    TrainingInterrupted says how to resume. Returns (state, best_val_loss, last_losses)."""
    use_compilation_cache(config.compilation_cache)
    train_step = make_train_step(loss_fn, optimizer, config, jax.tree.map(lambda a: a.sharding, state), mesh)
    eval_step = make_eval_step(loss_fn)
    schedule = learning_rate_schedule(config)
    main = is_main_process()  # only process 0 prints and writes metrics; all take part in checkpoints
    writing = checkpoints is not None
    log = MetricsLog(checkpoints.directory) if main and writing else None
    say = print if main else lambda *_: None
    peak = mesh_peak_flops(mesh, given=config.peak_flops)

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

    def save(step: int, losses: dict | None) -> None:
        nonlocal saved_step
        if not bool(_all_finite(state.params)):
            stop_on("nan", "a parameter", step)
        meta = {
            **checkpoint_meta(),
            "iter": step,
            "best_val_loss": best_val_loss,
            "train_loss": None if losses is None else losses["train"],
            "val_loss": None if losses is None else losses["val"],
        }
        checkpoints.save(step, state, meta, val_loss=None if losses is None else losses["val"])
        saved_step = step

    def stop_here(signal_name: str, step: int) -> TrainingInterrupted:
        if not writing:
            return TrainingInterrupted(f"stopped by {signal_name} at iteration {step}", signal_name)
        if step != saved_step:
            save(step, losses)
        if log:
            log.plot()
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

    bar = tqdm(total=config.max_iters, initial=step, disable=not (progress and main), unit="it", dynamic_ncols=True)
    t_last, step_last = time.perf_counter(), step
    train_seconds, first_step = 0.0, step  # time in train steps alone (evaluations and saves excluded)
    with StopRequests(enabled=jax.process_count() == 1) as stop, bar:  # the bar is closed however the loop ends
        while True:
            if losses is None and (step % config.eval_interval == 0 or step == config.max_iters or config.eval_only):
                losses = estimate_loss(eval_step, state.params, eval_batches, mesh)
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
                if writing and step > 0 and step != saved_step and (improved or config.always_save_checkpoint or final):
                    save(step, losses)
                t_last, step_last = time.perf_counter(), step  # evaluation time is not training time
            if step >= config.max_iters or config.eval_only:
                break
            if stop.signal_name is not None:
                raise stop_here(stop.signal_name, step)

            state, metrics = train_step(state, *shard_batch(next_batch(), mesh, batch_axis=1))
            step += 1
            losses = None
            if step % config.log_interval == 0 or step == config.max_iters:
                loss = float(metrics["loss"])  # waits for the step to finish
                if not math.isfinite(loss):
                    stop_on(loss, "the training loss", step)
                now = time.perf_counter()
                train_seconds += now - t_last
                seconds_per_iter = (now - t_last) / (step - step_last)
                t_last, step_last = now, step
                tokens_per_sec = tokens_per_iter / seconds_per_iter
                mfu = flops_per_iter / seconds_per_iter / peak
                if log:
                    log.step(step, loss, float(metrics["lr"]), 1000 * seconds_per_iter, tokens_per_sec, mfu)
                bar.set_postfix(
                    loss=f"{loss:.4f}",
                    lr=f"{float(metrics['lr']):.2e}",
                    tok_s=f"{tokens_per_sec:,.0f}",
                    mfu=f"{100 * mfu:.1f}%",
                    refresh=False,
                )
            bar.update(step - bar.n)
        if stop.signal_name is not None:  # it came during the last evaluation: stop here, as asked
            raise stop_here(stop.signal_name, step)
    if step > first_step and not config.eval_only:
        say(f"{step - first_step} iterations in {train_seconds:.1f} s of training (first compile included)")
    if log:
        log.plot()
    if writing:
        checkpoints.wait()
        checkpoints.close()
    return state, best_val_loss, last_losses
