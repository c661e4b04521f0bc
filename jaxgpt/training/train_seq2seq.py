"""Training the encoder-decoder Transformer on a synthetic task (copy, reverse, sort, words) with
the shared driver `jaxgpt.training.trainer.fit` (scored by `jaxgpt.training.evaluate.exact_match`)."""

from __future__ import annotations

import dataclasses

from jaxgpt.data.tasks import PAD, TASKS, Seq2SeqTask, TaskSampler
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig, TransformerConfig
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.precision import resolve_dtype
from jaxgpt.training.devices.sharding import check_divisible
from jaxgpt.training.evaluate import exact_match
from jaxgpt.training.step.loss import seq2seq_loss
from jaxgpt.training.step.state import TrainState
from jaxgpt.training.trainer import Task, fit, open_run

# each split's evaluation batches come from config.seed + this: the decoder-only trainer uses the same
EVAL_SEED_OFFSETS = {"train": 1, "val": 2}


def check_task_start(config: TrainConfig, task_name: str, trainer: str) -> None:
    """InputError unless `config` starts from scratch on a known task, or resumes."""
    if config.init_from not in ("scratch", "resume"):
        raise InputError(f"init_from={config.init_from!r}: the {trainer} trainer starts from scratch or resume")
    if config.init_from == "scratch" and task_name not in TASKS:
        raise InputError(f"unknown task {task_name!r}: known tasks are {', '.join(TASKS)}")


@dataclasses.dataclass
class Seq2SeqResult:
    state: TrainState
    model_config: TransformerConfig | GPTConfig  # GPTConfig: a decoder-only run (train_gpt_seq2seq)
    task: Seq2SeqTask
    best_val_loss: float
    last_losses: dict
    exact_match: tuple[dict, str] | None = None  # (scores, examples text) when asked for


def exact_match_report(model_config: TransformerConfig, task: Seq2SeqTask, n: int, seed: int, beam_size: int):
    """The task's closing report: exact match on `n` held-out sources, greedy and by beam search
    (scalars exact_match_greedy, exact_match_beamK), and the first five decoded (text "examples")."""

    def report(params):
        model = Transformer(model_config)
        greedy, examples = exact_match(model, params, task, n, seed)
        beam, _ = exact_match(model, params, task, n, seed, beam_size)
        lines = [
            f"  {source!r} -> {decoded!r} ({'right' if decoded == expected else f'expected {expected!r}'})"
            for source, expected, decoded in examples[:5]
        ]
        return {"exact_match_greedy": greedy, f"exact_match_beam{beam_size}": beam}, {"examples": "\n".join(lines)}

    return report


def translation_task(config: TrainConfig, model_config: TransformerConfig, task: Seq2SeqTask, report=None) -> Task:
    """The Transformer learning `task`: sources to targets, by teacher forcing (`report`: its
    closing report, if any)."""
    run_config = {
        "kind": "seq2seq",
        "task": task.name,
        "model": dataclasses.asdict(model_config),
        "train": dataclasses.asdict(config),
    }

    def eval_batches(split):  # the same batches at every evaluation, from their own seeded stream
        sampler = TaskSampler(task, config.seed + EVAL_SEED_OFFSETS[split], split)
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
        closing_report=report,
    )


def train_seq2seq(
    config: TrainConfig,
    task_name: str = "reverse",
    model_config: TransformerConfig | None = None,
    progress: bool = True,
    echo=print,
    move_old_run: bool = False,
    exact_match_examples: int = 0,
    beam_size: int = 4,
) -> Seq2SeqResult:
    """Train the encoder-decoder Transformer on a synthetic task; init_from="resume" continues
    the run in out_dir (model, task and sampler from its newest verified checkpoint). A new run
    stops before writing anything if out_dir holds another run, unless `move_old_run` renames
    that folder first. With `exact_match_examples`, the trained model is scored on that many
    held-out sources (`Seq2SeqResult.exact_match`, and the run's logs)."""
    check_task_start(config, task_name, "seq2seq")
    config = dataclasses.replace(config, dtype=resolve_dtype(config.dtype))  # config.json names the one used
    with open_run(config, "seq2seq", move_old_run) as (run, mesh, restored):
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
        report = None
        if exact_match_examples:
            report = exact_match_report(model_config, task, exact_match_examples, config.seed, beam_size)
        task_to_fit = translation_task(config, model_config, task, report)
        fitted = fit(config, task_to_fit, run, mesh, restored, None, echo, move_old_run, progress)
        scores, texts = fitted.report
        exact = (scores, texts["examples"]) if scores else None
        return Seq2SeqResult(fitted.state, model_config, task, fitted.best_val_loss, fitted.last_losses, exact)
