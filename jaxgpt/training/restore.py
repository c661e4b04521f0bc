"""One restore path for every kind of run: a checkpoint's JSON names the model it holds; from it
come the shapes of the train state, then the verified arrays (`Checkpoints.restore`)."""

from __future__ import annotations

import numpy as np

from jaxgpt.model.config import GPTConfig, TransformerConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.checkpoint import CheckpointError, Checkpoints, Restored, warn_on_stderr
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.optimizer import make_optimizer
from jaxgpt.training.precision import resolve_dtype
from jaxgpt.training.run_dir import TRAINERS, WHAT, RunDir
from jaxgpt.training.sharding import data_mesh
from jaxgpt.training.state import TrainState, abstract_train_state
from jaxgpt.training.tasks import TASKS
from jaxgpt.training.tokenizer import tokenizer_from_dict


def gpt_example_inputs(config: GPTConfig) -> tuple:
    """What a GPT is initialised on: one block of token ids [1, T]."""
    return (np.zeros((1, config.block_size), np.int32),)


def model_from_meta(meta: dict):
    """(model, example inputs) of the run a checkpoint's JSON describes (raises if it describes none)."""
    if meta.get("kind", "gpt") == "seq2seq":
        return Transformer(TransformerConfig(**meta["model"])), TASKS[meta["task"]].example_inputs()
    config = GPTConfig(**meta["model"])
    tokenizer_from_dict(meta["tokenizer"])  # a checkpoint whose tokenizer is unreadable is no use
    return GPT(config), gpt_example_inputs(config)


def abstract_state(meta: dict, mesh, kind: str) -> TrainState:
    """The shapes of the train state a checkpoint of a `kind` run ("gpt" or "seq2seq") holds, laid
    out on `mesh`, from its JSON."""
    found = meta.get("kind", "gpt")
    if found != kind:
        raise CheckpointError(f"this checkpoint is of {WHAT[found]}, not {WHAT[kind]}: use {TRAINERS[found]}")
    model, example_inputs = model_from_meta(meta)
    config = TrainConfig(**meta["train"])
    dtype = resolve_dtype(config.dtype)
    return abstract_train_state(model, make_optimizer(config), mesh, example_inputs, config.dropout_rng, dtype)


def restore_run(out_dir, kind: str, checkpoint: str | int = "latest", mesh=None, warn=warn_on_stderr) -> Restored:
    """The verified checkpoint of a `kind` run in `out_dir`: "latest", "best" (lowest validation
    loss) or an iteration number; a damaged "latest" or "best" falls back to the next that verifies."""
    RunDir(out_dir).check_readable(kind, "use it")
    mesh = data_mesh() if mesh is None else mesh
    checkpoints = Checkpoints(out_dir, warn=warn)
    try:
        return checkpoints.restore(lambda meta: abstract_state(meta, mesh, kind), checkpoint)
    finally:
        checkpoints.close()


def restore_model(out_dir, checkpoint: str | int = "latest", mesh=None, warn=warn_on_stderr):
    """(model, params, tokenizer, meta) from a GPT run's folder; see `restore_run`."""
    restored = restore_run(out_dir, "gpt", checkpoint, mesh, warn)
    model, _ = model_from_meta(restored.meta)
    return model, restored.state.params, tokenizer_from_dict(restored.meta["tokenizer"]), restored.meta
