"""Training a GPT: nanoGPT's train.py as plain functions.

`train()` sets up the data (tiny Shakespeare, any text, or a prepared folder), the tokenizer, the
model (from scratch, a checkpoint, or GPT-2's weights) and its state, then runs the shared
`training_loop` of `jaxgpt.training.loop`. The machinery and the config are re-exported here, so
`from jaxgpt.training.train_gpt import TrainConfig, make_train_step, ...` keeps working.
"""

from __future__ import annotations

import dataclasses
import math
import pathlib
from typing import Any

import jax.numpy as jnp

from jaxgpt.training.checkpoint import CheckpointError, Checkpoints, warn_on_stderr
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.data import BatchSampler, DataError, Dataset, load_text
from jaxgpt.training.distributed import is_main_process
from jaxgpt.model.gpt import GPT
from jaxgpt.training.loop import (  # noqa: F401 - re-exported
    TrainingError,
    TrainState,
    abstract_train_state,
    cast_params,
    check_optimizer_fits,
    estimate_loss,
    init_train_state,
    learning_rate_schedule,
    make_eval_step,
    make_optimizer,
    make_train_step,
    noam_schedule,
    restored_losses,
    token_cross_entropy,
    training_loop,
    use_compilation_cache,
)
from jaxgpt.training.mfu import flops_per_token
from jaxgpt.model.params import count_params
from jaxgpt.model.pretrained import load_gpt2
from jaxgpt.training.run_dir import RunDir
from jaxgpt.training.sharding import check_divisible, data_mesh, shard_state
from jaxgpt.training.tokenizer import BPETokenizer, tokenizer_from_dict
from jaxgpt.training.config import (  # noqa: F401 - re-exported
    DTYPES,
    FINETUNE_RECIPE,
    TRAIN_RECIPES,
    TrainConfig,
    default_preset,
)


def cross_entropy_loss(model: GPT, params, x_BxT, y_BxT, dtype=jnp.float32, dropout_key=None, label_smoothing=0.0):
    """Mean next-token cross-entropy (label-smoothed when asked); dropout is on when a `dropout_key` is given."""
    logits_BxTxV = model.apply(
        {"params": cast_params(params, dtype)},
        x_BxT,
        deterministic=dropout_key is None,
        rngs=None if dropout_key is None else {"dropout": dropout_key},
    )
    return token_cross_entropy(logits_BxTxV, y_BxT, label_smoothing).mean()


def language_model_loss(model: GPT, config: TrainConfig):
    """`loss(params, (x_BxT, y_BxT), dropout_key)` for a GPT, in the configured compute dtype."""
    dtype, epsilon = DTYPES[config.dtype], config.label_smoothing
    return lambda params, batch, dropout_key=None: cross_entropy_loss(
        model, params, *batch, dtype, dropout_key, epsilon
    )


def language_model_eval_batches(data: Dataset, config: TrainConfig, block_size: int):
    """`eval_iters` batches of each split from a generator seeded afresh at every call, so every
    evaluation sees the same batches and none disturbs the training stream."""

    def eval_batches(split):
        sampler = BatchSampler(data.split(split), block_size, seed=config.seed + {"train": 1, "val": 2}[split])
        return [sampler.sample(config.batch_size) for _ in range(config.eval_iters)]

    return eval_batches


@dataclasses.dataclass
class TrainResult:
    state: TrainState
    model_config: GPTConfig
    tokenizer: Any
    best_val_loss: float
    last_losses: dict  # the final evaluation's {"train": ..., "val": ...}


def restore_model(out_dir, checkpoint: str | int = "latest", mesh=None, warn=warn_on_stderr):
    """(model, params, tokenizer, meta) from a GPT run's folder. `checkpoint` is "latest", "best"
    (lowest validation loss) or an iteration number. The checkpoint is verified first; if
    "latest" or "best" is damaged, the next one that verifies is used, with a warning."""
    RunDir(out_dir).check_readable("gpt", "use it")
    mesh = data_mesh() if mesh is None else mesh
    checkpoints = Checkpoints(out_dir, warn=warn)
    restored = checkpoints.restore(lambda meta: gpt_abstract_state(meta, mesh), checkpoint)
    checkpoints.close()
    meta = restored.meta
    return GPT(GPTConfig(**meta["model"])), restored.state.params, tokenizer_from_dict(meta["tokenizer"]), meta


def gpt_abstract_state(meta: dict, mesh) -> TrainState:
    """The shapes of the train state a GPT checkpoint holds, from its JSON (raises if it is not a GPT's)."""
    if meta.get("kind", "gpt") != "gpt":
        raise CheckpointError(f"this is a {meta['kind']} checkpoint, not a GPT's: use scripts/train_seq2seq.py")
    train_config = TrainConfig(**meta["train"])
    model = GPT(GPTConfig(**meta["model"]))
    tokenizer_from_dict(meta["tokenizer"])  # a checkpoint whose tokenizer is unreadable is no use
    return abstract_train_state(model, make_optimizer(train_config), mesh, dropout_rng=train_config.dropout_rng)


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
    fixed = sorted(set(overrides) - {"dropout", "block_size", "attention_impl", "remat"})
    if fixed:
        raise ValueError(
            f"--{fixed[0]} cannot change a pretrained model; only --dropout, --block_size, --attention_impl "
            "and --remat can"
        )
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
    move_old_run: bool = False,
) -> TrainResult:
    """Train a GPT as `config` says and return the final state. `model_config` is the model to
    build from scratch (its vocab_size is set from the data); with init_from="resume" the model,
    tokenizer, state and sampler all come from the newest verified checkpoint in out_dir; with a
    GPT-2 name or weights path, training starts from those weights (`model_overrides` may set
    dropout and crop block_size) with GPT-2's BPE tokenizer. A new run stops before writing
    anything if out_dir holds another run, unless `move_old_run` renames that folder first."""
    if not is_main_process():  # in a multi-process run only process 0 speaks and writes files
        echo = lambda *_: None  # noqa: E731
    config.check_sources()
    run = RunDir.for_training(config, "gpt", move_old_run)
    mesh = data_mesh(spec=config.mesh)
    tokenizer, pretrained_params, restored = None, None, None
    if config.init_from == "resume":
        restored = run.resume(config, lambda meta: gpt_abstract_state(meta, mesh))
        meta = restored.meta
        model_config, tokenizer = GPTConfig(**meta["model"]), tokenizer_from_dict(meta["tokenizer"])
    elif config.init_from != "scratch":
        model_config, pretrained_params = load_pretrained(config.init_from, model_overrides or {})
        tokenizer = BPETokenizer.gpt2()
    elif model_config is None:
        raise ValueError("train() needs a model_config to start from scratch")
    check_divisible(config.batch_size, mesh)
    data = load_data(config, tokenizer)
    if pretrained_params is None:
        model_config = dataclasses.replace(model_config, vocab_size=data.tokenizer.vocab_size)
    elif data.tokenizer.vocab_size != model_config.vocab_size:
        raise DataError(
            f"the data's tokenizer has {data.tokenizer.vocab_size} tokens but the pretrained model "
            f"{model_config.vocab_size}: use GPT-2's BPE data (--dataset shakespeare or a prepared folder)"
        )
    model, optimizer = GPT(model_config), make_optimizer(config)
    block_size = model_config.block_size
    data.check_block_size(block_size)
    sampler = BatchSampler(data.train, block_size, seed=config.seed)

    if restored is not None:
        check_optimizer_fits(restored.state, optimizer, run.path)
        state = restored.state
        sampler.state = restored.meta["sampler_state"]
        best_val_loss = restored.meta["best_val_loss"]
        echo(f"resuming from iteration {restored.step} in {run.path}")
    else:
        if pretrained_params is not None:
            echo(f"starting from the pretrained weights of {config.init_from}")
        state = shard_state(
            init_train_state(model, optimizer, config.seed, pretrained_params, dropout_rng=config.dropout_rng), mesh
        )
        best_val_loss = math.inf
    run_config = {"kind": "gpt", "model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}
    checkpoints = run.start(config, run_config, move_old_run, echo, restored)

    A, B = config.gradient_accumulation_steps, config.batch_size
    tokens_per_iter = A * B * block_size
    n_params = count_params(state.params)
    flops_per_iter = flops_per_token(n_params, model_config.n_layer, model_config.n_embd, block_size) * tokens_per_iter
    echo(f"{n_params / 1e6:.2f}M parameters, {tokens_per_iter:,} tokens per iteration, {mesh.size} device(s)")
    loss_fn = language_model_loss(model, config)

    def checkpoint_meta():
        return {**run_config, "tokenizer": data.tokenizer.to_dict(), "sampler_state": sampler.state}

    state, best_val_loss, last_losses = training_loop(
        config,
        state,
        loss_fn,
        optimizer,
        next_batch=lambda: sampler.sample(A, B),
        eval_batches=language_model_eval_batches(data, config, block_size),
        checkpoint_meta=checkpoint_meta,
        checkpoints=checkpoints,
        mesh=mesh,
        tokens_per_iter=tokens_per_iter,
        flops_per_iter=flops_per_iter,
        best_val_loss=best_val_loss,
        last_losses=restored_losses(restored),
        progress=progress,
    )
    return TrainResult(state, model_config, data.tokenizer, best_val_loss, last_losses)
