"""The kinds of run jaxgpt trains, in one table: what each is called, which script trains it, how
its model is rebuilt from a checkpoint's JSON and how a finished run is evaluated. Everything that
depends on a run's kind (the run folder's checks, restoring, scripts/eval.py) asks `KINDS`; adding
a kind is one entry here, its trainer and its test."""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

from jaxgpt.data.packed_tasks import PackedTask
from jaxgpt.data.tasks import TASKS
from jaxgpt.data.tokenizer import tokenizer_from_dict
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig, TransformerConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.evaluate import evaluate_gpt, evaluate_gpt_seq2seq, evaluate_seq2seq


@dataclasses.dataclass(frozen=True)
class RunKind:
    name: str  # config.json's "kind"
    what: str  # in messages: "a GPT run"
    script: str  # the script that trains and resumes it
    model_config: type  # the model's frozen config dataclass
    model: type  # the Flax module
    example_inputs: Callable[[Any, dict], tuple]  # (model config, run JSON) -> inputs to initialise on
    evaluate: Callable[..., dict]  # (model, params, run JSON, **options) -> scripts/eval.py's numbers

    def build(self, meta: dict):
        """(model, example inputs) of the run a checkpoint's JSON describes (raises if it describes none)."""
        config = self.model_config(**meta["model"])
        return self.model(config), self.example_inputs(config, meta)


def gpt_example_inputs(config: GPTConfig, meta: dict | None = None) -> tuple:
    """What a GPT is initialised on: one block of token ids [1, T]."""
    if meta is not None:
        tokenizer_from_dict(meta["tokenizer"])  # a checkpoint whose tokenizer is unreadable is no use
    return (np.zeros((1, config.block_size), np.int32),)


def seq2seq_example_inputs(config: TransformerConfig, meta: dict) -> tuple:
    """Zero source [1, S] and target [1, T] ids of the run's task."""
    return TASKS[meta["task"]].example_inputs()


def packed_example_inputs(config: GPTConfig, meta: dict) -> tuple:
    """Zero ids [1, L] of the run's task, packed into one sequence."""
    return PackedTask(TASKS[meta["task"]]).example_inputs()


KINDS = {
    "gpt": RunKind("gpt", "a GPT run", "scripts/train.py", GPTConfig, GPT, gpt_example_inputs, evaluate_gpt),
    "seq2seq": RunKind(
        "seq2seq",
        "an encoder-decoder (seq2seq) run",
        "scripts/train_seq2seq.py",
        TransformerConfig,
        Transformer,
        seq2seq_example_inputs,
        evaluate_seq2seq,
    ),
    "gpt-seq2seq": RunKind(
        "gpt-seq2seq",
        "a decoder-only (GPT) seq2seq run",
        "jaxgpt.training.train_gpt_seq2seq.train_gpt_seq2seq",
        GPTConfig,
        GPT,
        packed_example_inputs,
        evaluate_gpt_seq2seq,
    ),
}


def kind_of(run_json: dict) -> RunKind:
    """The kind a config.json or checkpoint JSON names (runs from before kinds existed are GPT runs)."""
    name = run_json.get("kind", "gpt")
    if name not in KINDS:
        raise InputError(f"kind {name!r} is not one of {', '.join(KINDS)}")
    return KINDS[name]
