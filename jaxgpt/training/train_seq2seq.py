"""Training the encoder-decoder Transformer on a synthetic task (copy, reverse, sort, words) with
the shared driver `jaxgpt.training.trainer.fit`, and scoring it by exact match on held-out sources."""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxgpt.decoding.seq2seq import beam_search, greedy_decode
from jaxgpt.errors import InputError
from jaxgpt.model.config import TransformerConfig
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.loss import seq2seq_loss
from jaxgpt.training.precision import resolve_dtype
from jaxgpt.training.sharding import check_divisible
from jaxgpt.training.state import TrainState
from jaxgpt.training.tasks import BOS, EOS, PAD, TASKS, Seq2SeqTask, TaskSampler
from jaxgpt.training.trainer import Task, fit, open_run


@dataclasses.dataclass
class Seq2SeqResult:
    state: TrainState
    model_config: TransformerConfig
    task: Seq2SeqTask
    best_val_loss: float
    last_losses: dict


def translation_task(config: TrainConfig, model_config: TransformerConfig, task: Seq2SeqTask) -> Task:
    """The Transformer learning `task`: sources to targets, by teacher forcing."""
    run_config = {
        "kind": "seq2seq",
        "task": task.name,
        "model": dataclasses.asdict(model_config),
        "train": dataclasses.asdict(config),
    }

    def eval_batches(split):  # the same batches at every evaluation, from their own seeded stream
        sampler = TaskSampler(task, config.seed + {"train": 1, "val": 2}[split], split)
        return [sampler.sample(config.batch_size) for _ in range(config.eval_iters)]

    model = Transformer(model_config)
    return Task(
        run_config=run_config,
        model=model,
        example_inputs=task.example_inputs(),
        loss=seq2seq_loss(model, config),
        sampler=TaskSampler(task, config.seed, "train"),
        eval_batches=eval_batches,
        tokens_per_iter=config.gradient_accumulation_steps * config.batch_size * (task.src_len + task.tgt_len),
        flops_per_token=lambda n_params: 6 * n_params,
        title=f"task {task.name}",
    )


def train_seq2seq(
    config: TrainConfig,
    task_name: str = "reverse",
    model_config: TransformerConfig | None = None,
    progress: bool = True,
    echo=print,
    move_old_run: bool = False,
) -> Seq2SeqResult:
    """Train the encoder-decoder Transformer on a synthetic task; init_from="resume" continues
    the run in out_dir (model, task and sampler from its newest verified checkpoint). A new run
    stops before writing anything if out_dir holds another run, unless `move_old_run` renames
    that folder first."""
    if config.init_from not in ("scratch", "resume"):
        raise InputError(f"init_from={config.init_from!r}: the seq2seq trainer starts from scratch or resume")
    if config.init_from == "scratch" and task_name not in TASKS:
        raise InputError(f"unknown task {task_name!r}: known tasks are {', '.join(TASKS)}")
    config = dataclasses.replace(config, dtype=resolve_dtype(config.dtype))  # config.json names the one used
    run, mesh, restored = open_run(config, "seq2seq", move_old_run)
    check_divisible(config.batch_size, mesh)
    if restored is not None:
        model_config, task = TransformerConfig(**restored.meta["model"]), TASKS[restored.meta["task"]]
    else:
        task = TASKS[task_name]
        model_config = dataclasses.replace(
            model_config or TransformerConfig.from_preset("transformer-tiny"),
            src_vocab_size=task.src_vocab_size,
            tgt_vocab_size=task.tgt_vocab_size,
            block_size=max(task.src_len, task.tgt_len),
            pad_id=PAD,
        )
    task_to_fit = translation_task(config, model_config, task)
    fitted = fit(config, task_to_fit, run, mesh, restored, None, echo, move_old_run, progress)
    return Seq2SeqResult(fitted.state, model_config, task, fitted.best_val_loss, fitted.last_losses)


def exact_match(model: Transformer, params, task: Seq2SeqTask, n: int = 500, seed: int = 0, beam_size: int = 1):
    """Share of `n` held-out sources whose whole decoded target is right, and the (source,
    expected, decoded) triples."""
    sources, targets = zip(*TaskSampler(task, seed, split="val").examples(n))
    src_NxS = np.stack([task.encode_source(s) for s in sources])
    if beam_size == 1:
        decoded_NxL = greedy_decode(model, params, src_NxS, task.tgt_len, bos_id=BOS, eos_id=EOS)
    else:
        decoded_NxL = beam_search(model, params, src_NxS, task.tgt_len, bos_id=BOS, eos_id=EOS, beam_size=beam_size)
    outputs = [task.decode_target(row) for row in np.asarray(decoded_NxL)]
    accuracy = float(np.mean([o == t for o, t in zip(outputs, targets)]))
    return accuracy, list(zip(sources, targets, outputs))
