"""Training a GPT, nanoGPT's train.py as a task: the data (tiny Shakespeare, any text, or a
prepared folder), the tokenizer and the model (from scratch, a checkpoint, or GPT-2's weights),
handed to the shared driver `jaxgpt.training.trainer.fit`."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils

from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.data.sources import load_dataset, source_of
from jaxgpt.data.tokenizer import BPETokenizer, tokenizer_from_dict
from jaxgpt.decoding.generate import generate, lower_generate
from jaxgpt.errors import DataError, InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.pretrained import GPT2_REPOS, load_gpt2
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.distributed import is_main_process
from jaxgpt.training.devices.mfu import flops_per_token
from jaxgpt.training.devices.precision import resolve_dtype
from jaxgpt.training.devices.sharding import check_divisible
from jaxgpt.training.kinds import gpt_example_inputs
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.state import TrainState
from jaxgpt.training.trainer import Task, fit, open_run


@dataclasses.dataclass
class TrainResult:
    state: TrainState
    model_config: GPTConfig
    tokenizer: Any
    best_val_loss: float
    last_losses: dict  # the final evaluation's {"train": ..., "val": ...}
    sample: str | None = None  # the closing sample, when asked for (on process 0)


def check_sources(config: TrainConfig) -> None:
    """The weights and data `config` names exist: checked before anything is loaded (a config read
    back from a checkpoint is not checked: its data may have moved since)."""
    if config.init_from not in ("scratch", "resume", *GPT2_REPOS) and not pathlib.Path(config.init_from).exists():
        raise InputError(
            f"init_from={config.init_from!r} is not scratch, resume, one of {', '.join(GPT2_REPOS)} "
            "or a path to GPT-2 weights in Hugging Face's layout"
        )
    source_of(config.dataset, config.data_file)


def load_pretrained(name_or_path: str, overrides: dict):
    """(config, params) of GPT-2 weights, with dropout set and the context cropped as asked
    (nanoGPT's crop_block_size: keep the first block_size position embeddings)."""
    config, params = load_gpt2(name_or_path)
    fixed = sorted(set(overrides) - {"dropout", "block_size", "attention_impl", "remat"})
    if fixed:
        raise InputError(
            f"--{fixed[0]} cannot change a pretrained model; only --dropout, --block_size, --attention_impl "
            "and --remat can"
        )
    block_size = overrides.get("block_size", config.block_size)
    if block_size > config.block_size:
        raise InputError(f"block_size={block_size} exceeds the pretrained model's {config.block_size} positions")
    params = {**params, "wpe": {"embedding": params["wpe"]["embedding"][:block_size]}}
    return dataclasses.replace(config, **overrides), params


SAMPLING = dict(temperature=0.8, top_k=200)  # nanoGPT's sample.py


def closing_sample(model_config: GPTConfig, tokenizer, seed: int, n_tokens: int):
    """The task's closing report: `n_tokens` sampled from the final parameters after a newline
    (temperature 0.8, top-k 200, as nanoGPT's sample.py), as the text "sample"."""

    def report(params):
        if jax.process_count() > 1:  # every process hands over its pieces; process 0 alone samples
            params = multihost_utils.process_allgather(params, tiled=True)
            if not is_main_process():
                return {}, {}
        rng = jax.random.key(seed)
        prompt_1xT = _start_tokens(tokenizer)[None, :]
        tokens = generate(GPT(model_config), params, prompt_1xT, n_tokens, rng=rng, **SAMPLING)
        return {}, {"sample": tokenizer.decode(tokens[0])}

    return report


def _start_tokens(tokenizer):
    """A newline to start the closing sample from, or the first token if the text had none."""
    try:
        return tokenizer.encode("\n")
    except ValueError:
        return np.zeros((1,), np.int32)


def language_model_task(config: TrainConfig, model_config: GPTConfig, data: Dataset, sample_tokens: int = 0) -> Task:
    """A GPT learning to predict the next token of `data`'s train split (and, with `sample_tokens`,
    writing that many as its closing report)."""
    T = model_config.block_size
    data.check_block_size(T)
    run_config = {"kind": "gpt", "model": dataclasses.asdict(model_config), "train": dataclasses.asdict(config)}

    def eval_batches(split):
        """Seeded afresh at every call: every evaluation sees the same batches and none disturbs training."""
        sampler = BatchSampler(data.split(split), T, seed=config.seed + {"train": 1, "val": 2}[split])
        return [sampler.sample(config.batch_size) for _ in range(config.eval_iters)]

    model = GPT(model_config)
    prompt = _start_tokens(data.tokenizer)  # the closing sample's
    return Task(
        run_config=run_config,
        model=model,
        example_inputs=gpt_example_inputs(model_config),
        loss=language_model_loss(model, config),
        sampler=BatchSampler(data.train, T, seed=config.seed),
        eval_batches=eval_batches,
        tokens_per_iter=config.gradient_accumulation_steps * config.batch_size * T,
        flops_per_token=lambda n_params: flops_per_token(n_params, model_config.n_layer, model_config.n_embd, T),
        checkpoint_extra={"tokenizer": data.tokenizer.to_dict()},
        closing_report=closing_sample(model_config, data.tokenizer, config.seed, sample_tokens)
        if sample_tokens
        else None,
        lower_closing_report=(
            (lambda params: lower_generate(GPT(model_config), params, (1, len(prompt)), sample_tokens, **SAMPLING))
            if sample_tokens
            else None
        ),
    )


def train(
    config: TrainConfig,
    model_config: GPTConfig | None = None,
    progress: bool = True,
    echo=print,
    model_overrides: dict | None = None,
    move_old_run: bool = False,
    sample_tokens: int = 0,
) -> TrainResult:
    """Train a GPT as `config` says and return the final state. `model_config` is the model to
    build from scratch (its vocab_size is set from the data); with init_from="resume" the model,
    tokenizer, state and sampler all come from the newest verified checkpoint in out_dir; with a
    GPT-2 name or weights path, training starts from those weights (`model_overrides` may set
    dropout and crop block_size) with GPT-2's BPE tokenizer. A new run stops before writing
    anything if out_dir holds another run, unless `move_old_run` renames that folder first. With
    `sample_tokens`, the trained model writes that many tokens (`TrainResult.sample`, and the
    run's TensorBoard and W&B)."""
    if not is_main_process():  # in a multi-process run only process 0 speaks and writes files
        echo = lambda *_: None  # noqa: E731
    check_sources(config)
    config = dataclasses.replace(config, dtype=resolve_dtype(config.dtype))  # config.json names the one used
    with open_run(config, "gpt", move_old_run) as (run, mesh, restored):
        tokenizer, pretrained_params = None, None
        if restored is not None:
            model_config = GPTConfig(**restored.meta["model"])
            tokenizer = tokenizer_from_dict(restored.meta["tokenizer"])
        elif config.init_from != "scratch":
            model_config, pretrained_params = load_pretrained(config.init_from, model_overrides or {})
            tokenizer = BPETokenizer.gpt2()
        elif model_config is None:
            raise InputError("train() needs a model_config to start from scratch")
        check_divisible(config.batch_size, mesh)
        data = load_dataset(config.dataset, config.data_file, tokenizer, config.text_field, echo)
        if pretrained_params is None:
            model_config = dataclasses.replace(model_config, vocab_size=data.tokenizer.vocab_size)
        elif data.tokenizer.vocab_size != model_config.vocab_size:
            raise DataError(
                f"the data's tokenizer has {data.tokenizer.vocab_size} tokens but the pretrained model "
                f"{model_config.vocab_size}: use GPT-2's BPE data (--dataset shakespeare or a prepared folder)"
            )
        task = language_model_task(config, model_config, data, sample_tokens)
        if pretrained_params is not None:
            echo(f"starting from the pretrained weights of {config.init_from}")
        fitted = fit(config, task, run, mesh, restored, pretrained_params, echo, move_old_run, progress)
        sample = fitted.report[1].get("sample")
        return TrainResult(fitted.state, model_config, data.tokenizer, fitted.best_val_loss, fitted.last_losses, sample)
