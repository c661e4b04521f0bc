"""A finished run's numbers, computed afresh from one checkpoint (`scripts/eval.py`), by its kind's
evaluator (`jaxgpt.training.kinds`): a GPT run's whole-split losses, perplexity and bits per
character or token; an encoder-decoder run's exact match on 500 held-out sources, greedy and beam."""

from __future__ import annotations

from jaxgpt.training.kinds import KINDS, kind_of
from jaxgpt.training.run.folder import RunDir
from jaxgpt.training.run.restore import restore_run


def evaluate_run(out_dir, checkpoint: str | int = "best", batch_size: int = 64, data_file=None) -> dict:
    """The numbers of the run in `out_dir` at `checkpoint`, as its kind evaluates them (`data_file`:
    a copy of a GPT run's text, if it moved)."""
    run = RunDir(out_dir)
    config = (run.read_config() if run.path.is_dir() else None) or {}  # a missing folder: restore says so
    kind = kind_of(config)
    restored = restore_run(out_dir, kind.name, checkpoint)
    model, _ = KINDS[kind.name].build(restored.meta)
    return kind.evaluate(model, restored.state.params, restored.meta, batch_size=batch_size, data_file=data_file)
