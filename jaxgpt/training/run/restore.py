"""One restore path for every kind of run: a checkpoint's JSON names the kind and the model it
holds (`jaxgpt.training.kinds`); from it come the shapes of the train state, then the verified
arrays (`Checkpoints.restore`)."""

from __future__ import annotations

from jaxgpt.data.tokenizer import tokenizer_from_dict
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.precision import resolve_dtype
from jaxgpt.training.devices.sharding import data_mesh
from jaxgpt.training.kinds import KINDS, kind_of
from jaxgpt.training.run.checkpoint import CheckpointError, Checkpoints, Restored, warn_on_stderr
from jaxgpt.training.run.folder import RunDir
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import TrainState, abstract_train_state


def abstract_state(meta: dict, mesh, kind: str) -> TrainState:
    """The shapes of the train state a checkpoint of a `kind` run ("gpt" or "seq2seq") holds, laid
    out on `mesh`, from its JSON."""
    found = kind_of(meta)
    if found.name != kind:
        raise CheckpointError(f"this checkpoint is of {found.what}, not {KINDS[kind].what}: use {found.script}")
    model, example_inputs = found.build(meta)
    config = TrainConfig.from_json(meta["train"])
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
    model, _ = KINDS["gpt"].build(restored.meta)
    return model, restored.state.params, tokenizer_from_dict(restored.meta["tokenizer"]), restored.meta
