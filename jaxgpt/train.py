"""Training: nanoGPT's train.py as plain functions.

A `TrainState` (params, optimizer state, step, rng) goes through a jitted, pure
`train_step(state, x, y) -> (state, metrics)`; `train()` is the loop around it: batches,
evaluation, logging, checkpoints, resuming. Flag names and defaults are nanoGPT's.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pathlib
import time
from typing import Any

import flax
import jax
import jax.numpy as jnp
import optax
from jax.sharding import NamedSharding, PartitionSpec
from tqdm.auto import tqdm

from jaxgpt.checkpoint import CheckpointError, Checkpoints
from jaxgpt.config import GPTConfig
from jaxgpt.data import DATASETS, BatchSampler, DataError, Dataset, cache_dir, load_text
from jaxgpt.gpt import GPT
from jaxgpt.metrics import MetricsLog
from jaxgpt.mfu import flops_per_token, peak_flops
from jaxgpt.params import count_params
from jaxgpt.sharding import check_divisible, data_mesh, replicate, shard_batch
from jaxgpt.pretrained import GPT2_REPOS, load_gpt2
from jaxgpt.tokenizer import BPETokenizer, tokenizer_from_dict

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How to train. Names and defaults are nanoGPT's train.py (GPT-2 on OpenWebText);
    `TRAIN_RECIPES` holds its Shakespeare settings."""

    out_dir: str = "out"
    eval_interval: int = 2000  # evaluate (and maybe checkpoint) every this many iterations
    log_interval: int = 1
    eval_iters: int = 200  # batches per split in each evaluation
    eval_only: bool = False  # evaluate once and exit
    always_save_checkpoint: bool = True  # checkpoint at every evaluation, not only when val loss improves
    init_from: str = "scratch"  # "scratch", "resume" (latest checkpoint in out_dir), "gpt2"... or a weights path
    dataset: str = "shakespeare_char"  # or "shakespeare" (GPT-2 BPE), or a folder from scripts/prepare.py
    data_file: str | None = None  # any UTF-8 text file, character-level; overrides dataset
    gradient_accumulation_steps: int = 1  # micro-batches per optimizer step
    batch_size: int = 12  # sequences per micro-batch, split over all devices
    learning_rate: float = 6e-4  # peak learning rate
    max_iters: int = 600000  # optimizer steps in total
    weight_decay: float = 1e-1  # AdamW decay, on matrices and embeddings only
    beta1: float = 0.9
    beta2: float = 0.95
    grad_clip: float = 1.0  # clip gradients to this global norm; 0 disables
    decay_lr: bool = True  # warm up, then decay (lr_schedule); False keeps learning_rate constant
    lr_schedule: str = "cosine"  # "cosine" (to min_lr at lr_decay_iters) or "noam" (inverse square root, 2017)
    warmup_iters: int = 2000
    lr_decay_iters: int = 600000  # reaches min_lr here (nanoGPT: about max_iters)
    min_lr: float = 6e-5  # about learning_rate / 10
    dtype: str = "float32"  # compute dtype; "bfloat16" keeps float32 parameters
    seed: int = 1337
    keep_checkpoints: int = 3  # the last N are kept, and the best by val loss
    label_smoothing: float = 0.0  # epsilon: the target puts 1 - eps on the true token, eps / V on each token
    compilation_cache: bool = True  # keep compiled steps on disk ($JAXGPT_CACHE_DIR/jit): later runs start faster

    def __post_init__(self):
        for name in (
            "eval_interval",
            "log_interval",
            "eval_iters",
            "gradient_accumulation_steps",
            "batch_size",
            "keep_checkpoints",
        ):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}={value!r} must be a positive integer")
        for name in ("max_iters", "warmup_iters", "lr_decay_iters"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name}={value!r} must be an integer >= 0")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate={self.learning_rate} must be > 0")
        if self.decay_lr and not 0 <= self.min_lr <= self.learning_rate:
            raise ValueError(f"min_lr={self.min_lr} must be between 0 and learning_rate={self.learning_rate}")
        if self.decay_lr and self.lr_decay_iters < self.warmup_iters:
            raise ValueError(f"lr_decay_iters={self.lr_decay_iters} must be >= warmup_iters={self.warmup_iters}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)} must be in [0, 1)")
        if self.lr_schedule not in ("cosine", "noam"):
            raise ValueError(f"lr_schedule={self.lr_schedule!r} is not one of cosine, noam")
        if self.lr_schedule == "noam" and self.warmup_iters < 1:
            raise ValueError(f"lr_schedule='noam' needs warmup_iters >= 1, got {self.warmup_iters}")
        if not 0 <= self.label_smoothing < 1:
            raise ValueError(f"label_smoothing={self.label_smoothing} must be in [0, 1)")
        if self.weight_decay < 0 or self.grad_clip < 0:
            raise ValueError("weight_decay and grad_clip must be >= 0")
        if self.init_from not in ("scratch", "resume", *GPT2_REPOS) and not pathlib.Path(self.init_from).exists():
            raise ValueError(
                f"init_from={self.init_from!r} is not scratch, resume, one of {', '.join(GPT2_REPOS)} "
                "or a path to GPT-2 weights in Hugging Face's layout"
            )
        if self.dtype not in DTYPES:
            raise ValueError(f"dtype={self.dtype!r} is not one of {', '.join(DTYPES)}")
        if self.data_file is None and self.dataset not in DATASETS and not pathlib.Path(self.dataset).is_dir():
            raise ValueError(
                f"dataset={self.dataset!r} is not one of {', '.join(DATASETS)} nor a folder made by "
                "scripts/prepare.py; or pass --data_file"
            )


_SHAKESPEARE_RECIPE = dict(
    out_dir="out-shakespeare-char",
    eval_interval=250,
    eval_iters=200,
    log_interval=10,
    always_save_checkpoint=False,
    batch_size=64,
    learning_rate=1e-3,
    max_iters=5000,
    lr_decay_iters=5000,
    min_lr=1e-4,
    beta2=0.99,
    warmup_iters=100,
)
TRAIN_RECIPES: dict[str, dict] = {
    # nanoGPT's config/train_shakespeare_char.py
    "shakespeare-char": _SHAKESPEARE_RECIPE,
    # and the CPU command of nanoGPT's README (batch 12, 2000 iterations, eval_iters 20)
    "shakespeare-char-cpu": {
        **_SHAKESPEARE_RECIPE,
        "batch_size": 12,
        "max_iters": 2000,
        "lr_decay_iters": 2000,
        "eval_iters": 20,
    },
}


# nanoGPT's config/finetune_shakespeare.py: the recipe when training starts from GPT-2's weights
FINETUNE_RECIPE = dict(
    out_dir="out-shakespeare",
    eval_interval=5,
    eval_iters=40,
    always_save_checkpoint=False,
    dataset="shakespeare",
    batch_size=1,
    gradient_accumulation_steps=32,
    max_iters=20,
    learning_rate=3e-5,
    decay_lr=False,
)


def use_compilation_cache(enabled: bool) -> None:
    """Turn on JAX's persistent compilation cache in the jaxgpt cache folder, unless it is off or
    already pointed somewhere (JAX_COMPILATION_CACHE_DIR or the user's own jax.config)."""
    if enabled and not jax.config.jax_compilation_cache_dir:
        jax.config.update("jax_compilation_cache_dir", str(cache_dir() / "jit"))


def default_preset() -> str:
    """The model to train when none is named: small on a CPU, nanoGPT's Shakespeare model elsewhere."""
    return "shakespeare-char-cpu" if jax.default_backend() == "cpu" else "shakespeare-char"


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
    model, optimizer: optax.GradientTransformation, seed: int, params=None, example_inputs=None
) -> TrainState:
    """Step 0: fresh weights from `seed` (the model initialised on `example_inputs`, by default a
    GPT's one-block input), or the given `params` (pretrained ones)."""
    init_key, dropout_key = jax.random.split(jax.random.key(seed))
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


def cross_entropy_loss(model: GPT, params, x_BxT, y_BxT, dtype=jnp.float32, dropout_key=None):
    """Mean next-token cross-entropy; dropout is on when a `dropout_key` is given."""
    logits_BxTxV = model.apply(
        {"params": cast_params(params, dtype)},
        x_BxT,
        deterministic=dropout_key is None,
        rngs=None if dropout_key is None else {"dropout": dropout_key},
    )
    return optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV.astype(jnp.float32), y_BxT).mean()


def language_model_loss(model: GPT, config: TrainConfig):
    """`loss(params, (x_BxT, y_BxT), dropout_key)` for a GPT, in the configured compute dtype."""
    dtype = DTYPES[config.dtype]
    return lambda params, batch, dropout_key=None: cross_entropy_loss(model, params, *batch, dtype, dropout_key)


def make_train_step(loss_fn, optimizer: optax.GradientTransformation, config: TrainConfig):
    """A jitted `train_step(state, *batch) -> (state, metrics)`; each array of the batch is
    [A, B, ...] for A micro-batches, and `loss_fn(params, batch, dropout_key)` scores one.

    The state is donated: its buffers are reused for the new state, so pass each state once."""
    schedule = learning_rate_schedule(config)
    loss_and_grad = jax.value_and_grad(loss_fn)

    def train_step(state: TrainState, *batch_AxB):
        step_key = jax.random.fold_in(jax.random.wrap_key_data(state.rng), state.step)
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

    return jax.jit(train_step, donate_argnums=0)


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


def language_model_eval_batches(data: Dataset, config: TrainConfig, block_size: int):
    """`eval_iters` batches of each split from a generator seeded afresh at every call, so every
    evaluation sees the same batches and none disturbs the training stream."""

    def eval_batches(split):
        sampler = BatchSampler(data.split(split), block_size, seed=config.seed + {"train": 1, "val": 2}[split])
        return [sampler.sample(config.batch_size) for _ in range(config.eval_iters)]

    return eval_batches


@jax.jit
def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree.leaves(tree)]))


@dataclasses.dataclass
class TrainResult:
    state: TrainState
    model_config: GPTConfig
    tokenizer: Any
    best_val_loss: float
    last_losses: dict  # the final evaluation's {"train": ..., "val": ...}


def abstract_train_state(model, optimizer: optax.GradientTransformation, mesh, example_inputs=None) -> TrainState:
    """Shapes and dtypes of a train state, replicated over `mesh`: the target to restore into."""
    shapes = jax.eval_shape(lambda: init_train_state(model, optimizer, 0, example_inputs=example_inputs))
    replicated = NamedSharding(mesh, PartitionSpec())
    return jax.tree.map(lambda s: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=replicated), shapes)


def restore_model(out_dir, checkpoint: str | int = "latest", mesh=None):
    """(model, params, tokenizer, meta) from a checkpoint folder. `checkpoint` is "latest",
    "best" (lowest validation loss) or an iteration number."""
    checkpoints = Checkpoints(out_dir, create=False)
    step = {"latest": checkpoints.latest_step, "best": checkpoints.best_step}.get(checkpoint, lambda: checkpoint)()
    meta = checkpoints.restore_meta(step)
    model = GPT(GPTConfig(**meta["model"]))
    optimizer = make_optimizer(TrainConfig(**meta["train"]))
    mesh = data_mesh() if mesh is None else mesh
    state, meta = checkpoints.restore(abstract_train_state(model, optimizer, mesh), meta["iter"])
    checkpoints.close()
    return model, state.params, tokenizer_from_dict(meta["tokenizer"]), meta


def load_data(config: TrainConfig, tokenizer=None) -> Dataset:
    """The training data: a folder from scripts/prepare.py, or a text tokenized by `tokenizer`
    (by default: GPT-2 BPE for the "shakespeare" dataset, characters otherwise)."""
    if config.data_file is None and pathlib.Path(config.dataset).is_dir():
        return Dataset.load(config.dataset)
    if tokenizer is None and config.data_file is None and config.dataset == "shakespeare":
        tokenizer = BPETokenizer.gpt2()
    return Dataset.from_text(load_text(config.dataset, config.data_file), tokenizer)


def load_pretrained(name_or_path: str, overrides: dict):
    """(config, params) of GPT-2 weights, with dropout set and the context cropped as asked
    (nanoGPT's crop_block_size: keep the first block_size position embeddings)."""
    config, params = load_gpt2(name_or_path)
    fixed = sorted(set(overrides) - {"dropout", "block_size"})
    if fixed:
        raise ValueError(f"--{fixed[0]} cannot change a pretrained model; only --dropout and --block_size can")
    block_size = overrides.get("block_size", config.block_size)
    if block_size > config.block_size:
        raise ValueError(f"block_size={block_size} exceeds the pretrained model's {config.block_size} positions")
    params = {**params, "wpe": {"embedding": params["wpe"]["embedding"][:block_size]}}
    return dataclasses.replace(config, **overrides), params


def train(
    config: TrainConfig,
    model_config: GPTConfig | None = None,
    progress: bool = True,
    echo=print,
    model_overrides: dict | None = None,
) -> TrainResult:
    """Train a GPT as `config` says and return the final state. `model_config` is the model to
    build from scratch (its vocab_size is set from the data); with init_from="resume" the model,
    tokenizer, state and sampler all come from the latest checkpoint in out_dir; with a GPT-2
    name or weights path, training starts from those weights (`model_overrides` may set
    dropout and crop block_size) with GPT-2's BPE tokenizer."""
    out_dir = pathlib.Path(config.out_dir)
    checkpoints = Checkpoints(out_dir, keep=config.keep_checkpoints)
    tokenizer, pretrained_params = None, None
    if config.init_from == "resume":
        if checkpoints.latest_step() is None:
            raise CheckpointError(f"--init_from resume: no checkpoint in {out_dir}; train first, or fix --out_dir")
        meta = checkpoints.restore_meta()
        model_config, tokenizer = GPTConfig(**meta["model"]), tokenizer_from_dict(meta["tokenizer"])
    elif config.init_from != "scratch":
        model_config, pretrained_params = load_pretrained(config.init_from, model_overrides or {})
        tokenizer = BPETokenizer.gpt2()
    elif model_config is None:
        raise ValueError("train() needs a model_config to start from scratch")
    data = load_data(config, tokenizer)
    if pretrained_params is None:
        model_config = dataclasses.replace(model_config, vocab_size=data.tokenizer.vocab_size)
    elif data.tokenizer.vocab_size != model_config.vocab_size:
        raise DataError(
            f"the data's tokenizer has {data.tokenizer.vocab_size} tokens but the pretrained model "
            f"{model_config.vocab_size}: use GPT-2's BPE data (--dataset shakespeare or a prepared folder)"
        )
    model, optimizer = GPT(model_config), make_optimizer(config)
    mesh = data_mesh()
    check_divisible(config.batch_size, mesh)
    block_size = model_config.block_size
    sampler = BatchSampler(data.train, block_size, seed=config.seed)

    if config.init_from == "resume":
        state, meta = checkpoints.restore(abstract_train_state(model, optimizer, mesh))
        sampler.state = meta["sampler_state"]
        best_val_loss = meta["best_val_loss"]
        echo(f"resuming from iteration {meta['iter']} in {out_dir}")
    else:
        if pretrained_params is not None:
            echo(f"starting from the pretrained weights of {config.init_from}")
        state = replicate(init_train_state(model, optimizer, config.seed, pretrained_params), mesh)
        best_val_loss = math.inf
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "config.json").write_text(
        json.dumps({"model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}, indent=2)
    )

    A, B = config.gradient_accumulation_steps, config.batch_size
    tokens_per_iter = A * B * block_size
    n_params = count_params(state.params)
    flops_per_iter = flops_per_token(n_params, model_config.n_layer, model_config.n_embd, block_size) * tokens_per_iter
    echo(f"{n_params / 1e6:.2f}M parameters, {tokens_per_iter:,} tokens per iteration, {mesh.size} device(s)")
    loss_fn = language_model_loss(model, config)

    def checkpoint_meta():
        return {
            "kind": "gpt",
            "model": dataclasses.asdict(model_config),
            "train": dataclasses.asdict(config),
            "tokenizer": data.tokenizer.to_dict(),
            "sampler_state": sampler.state,
        }

    state, best_val_loss, last_losses = training_loop(
        config,
        state,
        make_train_step(loss_fn, optimizer, config),
        make_eval_step(loss_fn),
        next_batch=lambda: sampler.sample(A, B),
        eval_batches=language_model_eval_batches(data, config, block_size),
        checkpoint_meta=checkpoint_meta,
        checkpoints=checkpoints,
        mesh=mesh,
        tokens_per_iter=tokens_per_iter,
        flops_per_iter=flops_per_iter,
        best_val_loss=best_val_loss,
        progress=progress,
    )
    return TrainResult(state, model_config, data.tokenizer, best_val_loss, last_losses)


def training_loop(
    config: TrainConfig,
    state: TrainState,
    train_step,
    eval_step,
    *,
    next_batch,
    eval_batches,
    checkpoint_meta,
    checkpoints: Checkpoints,
    mesh,
    tokens_per_iter: int,
    flops_per_iter: float,
    best_val_loss: float = math.inf,
    progress: bool = True,
):
    """The loop every trainer shares: evaluate, checkpoint, step, log, until max_iters.

    `next_batch()` gives one step's arrays, each [A, B, ...]; `eval_batches(split)` the batches
    [B, ...] of "train" or "val"; `checkpoint_meta()` the JSON saved beside the arrays (it must
    hold the sampler's state for an exact resume). Returns (state, best_val_loss, last_losses)."""
    use_compilation_cache(config.compilation_cache)
    out_dir = checkpoints.directory
    schedule = learning_rate_schedule(config)
    log = MetricsLog(out_dir)
    # simulated CPU devices share the host's cores, whose matmul speed peak_flops measured as a whole
    peak = peak_flops() * (1 if jax.default_backend() == "cpu" else mesh.size)

    def stop_on(bad_value, what: str, step: int):
        checkpoints.wait()
        kept = checkpoints.latest_step()
        kept_text = (
            f"the last good checkpoint (iteration {kept}) in {out_dir} is intact"
            if kept is not None
            else "no checkpoint was written"
        )
        raise TrainingError(
            f"{what} is {bad_value} at iteration {step}: training stopped; {kept_text}. "
            "Lower --learning_rate or --grad_clip and resume"
        )

    step = int(state.step)
    bar = tqdm(total=config.max_iters, initial=step, disable=not progress, unit="it", dynamic_ncols=True)
    last_losses: dict = {}
    t_last, step_last = time.perf_counter(), step
    while True:
        if step % config.eval_interval == 0 or step == config.max_iters or config.eval_only:
            last_losses = estimate_loss(eval_step, state.params, eval_batches, mesh)
            for split, value in last_losses.items():
                if not math.isfinite(value):
                    stop_on(value, f"the {split} loss", step)
            log.evaluation(step, last_losses["train"], last_losses["val"], float(schedule(step)))
            bar.write(f"step {step}: train loss {last_losses['train']:.4f}, val loss {last_losses['val']:.4f}")
            improved = last_losses["val"] < best_val_loss
            best_val_loss = min(best_val_loss, last_losses["val"])
            final = step == config.max_iters
            already_saved = step == checkpoints.latest_step()  # just resumed from it
            if (
                step > 0
                and not (config.eval_only or already_saved)
                and (improved or config.always_save_checkpoint or final)
            ):
                if not bool(_all_finite(state.params)):
                    stop_on("nan", "a parameter", step)
                meta = {
                    **checkpoint_meta(),
                    "iter": step,
                    "best_val_loss": best_val_loss,
                    "train_loss": last_losses["train"],
                    "val_loss": last_losses["val"],
                }
                checkpoints.save(step, state, meta, val_loss=last_losses["val"])
            t_last, step_last = time.perf_counter(), step  # evaluation time is not training time
        if step >= config.max_iters or config.eval_only:
            break

        state, metrics = train_step(state, *shard_batch(next_batch(), mesh, batch_axis=1))
        step += 1
        if step % config.log_interval == 0 or step == config.max_iters:
            loss = float(metrics["loss"])  # waits for the step to finish
            if not math.isfinite(loss):
                stop_on(loss, "the training loss", step)
            now = time.perf_counter()
            seconds_per_iter = (now - t_last) / (step - step_last)
            t_last, step_last = now, step
            tokens_per_sec = tokens_per_iter / seconds_per_iter
            mfu = flops_per_iter / seconds_per_iter / peak
            log.step(step, loss, float(metrics["lr"]), 1000 * seconds_per_iter, tokens_per_sec, mfu)
            bar.set_postfix(
                loss=f"{loss:.4f}",
                lr=f"{float(metrics['lr']):.2e}",
                tok_s=f"{tokens_per_sec:,.0f}",
                mfu=f"{100 * mfu:.1f}%",
                refresh=False,
            )
        bar.update(step - bar.n)
    bar.close()
    checkpoints.wait()
    checkpoints.close()
    return state, best_val_loss, last_losses
