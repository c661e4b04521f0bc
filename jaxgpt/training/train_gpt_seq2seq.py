"""Training a decoder-only GPT on a synthetic seq2seq task (copy, reverse, sort, words): source and
target packed into one sequence (`jaxgpt.data.packed_tasks`), the loss on the target alone, the
same driver as every trainer (`jaxgpt.training.trainer.fit`). With the same TrainConfig it sees the
same examples, the same number of steps and the same label smoothing as `train_seq2seq`'s
encoder-decoder, so the two can be compared on the task."""

from __future__ import annotations

import dataclasses

from jaxgpt.data.packed_tasks import PackedTask, PackedTaskSampler
from jaxgpt.data.tasks import PAD, TASKS, Seq2SeqTask
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.precision import resolve_dtype
from jaxgpt.training.devices.sharding import check_divisible
from jaxgpt.training.evaluate import packed_exact_match
from jaxgpt.training.step.loss import packed_seq2seq_loss
from jaxgpt.training.train_seq2seq import EVAL_SEED_OFFSETS, Seq2SeqResult, check_task_start
from jaxgpt.training.trainer import Task, fit, open_run

KIND = "gpt-seq2seq"


def gpt_config_for(task: Seq2SeqTask, **sizes) -> GPTConfig:
    """A GPTConfig for `task` packed: its vocabulary and sequence length, and `sizes` (n_layer, n_head,
    n_embd, activation ...); dropout off by default, as the encoder-decoder's recipe has it."""
    packed = PackedTask(task)
    return GPTConfig(**{"dropout": 0.0, **sizes, "vocab_size": packed.vocab_size, "block_size": packed.length})


def exact_match_report(task: Seq2SeqTask, gpt_config: GPTConfig, n: int, seed: int):
    """The closing report: greedy exact match on `n` held-out sources (scalar exact_match_greedy) and
    the first five decoded (text "examples")."""

    def report(params):
        greedy, examples = packed_exact_match(GPT(gpt_config), params, task, n, seed)
        lines = [
            f"  {source!r} -> {decoded!r} ({'right' if decoded == expected else f'expected {expected!r}'})"
            for source, expected, decoded in examples[:5]
        ]
        return {"exact_match_greedy": greedy}, {"examples": "\n".join(lines)}

    return report


def packed_task(config: TrainConfig, gpt_config: GPTConfig, task: Seq2SeqTask, report=None) -> Task:
    """The GPT learning `task` packed: the target after the source and a separator."""
    packed = PackedTask(task)
    run_config = {
        "kind": KIND,
        "task": task.name,
        "model": dataclasses.asdict(gpt_config),
        "train": dataclasses.asdict(config),
    }

    def eval_batches(split):  # the seeds of train_seq2seq's: the same examples, packed
        sampler = PackedTaskSampler(packed, config.seed + EVAL_SEED_OFFSETS[split], split)
        return [sampler.sample(config.batch_size) for _ in range(config.eval_iters)]

    model = GPT(gpt_config)
    return Task(
        run_config=run_config,
        model=model,
        example_inputs=packed.example_inputs(),
        loss=packed_seq2seq_loss(model, config, PAD),
        sampler=PackedTaskSampler(packed, config.seed, "train"),
        eval_batches=eval_batches,
        tokens_per_iter=config.gradient_accumulation_steps * config.batch_size * packed.length,
        flops_per_token=lambda n_params: 6 * n_params,
        title=f"task {task.name}, decoder-only",
        closing_report=report,
    )


def train_gpt_seq2seq(
    config: TrainConfig,
    task_name: str = "reverse",
    gpt_config: GPTConfig | None = None,
    progress: bool = True,
    echo=print,
    move_old_run: bool = False,
    exact_match_examples: int = 0,
) -> Seq2SeqResult:
    """Train a GPT on a synthetic task packed into one sequence; init_from="resume" continues the
    run in out_dir. `gpt_config`'s vocab_size and block_size are set from the task (default sizes:
    4 blocks of width 64). A new run stops before writing anything if out_dir holds another run,
    unless `move_old_run` renames that folder first. With `exact_match_examples`, the trained
    model is scored greedily on that many held-out sources (`Seq2SeqResult.exact_match`)."""
    check_task_start(config, task_name, "decoder-only seq2seq")
    config = dataclasses.replace(config, dtype=resolve_dtype(config.dtype))  # config.json names the one used
    with open_run(config, KIND, move_old_run) as (run, mesh, restored):
        check_divisible(config.batch_size, mesh)
        if restored is not None:
            gpt_config, task = GPTConfig(**restored.meta["model"]), TASKS[restored.meta["task"]]
        else:
            task = TASKS[task_name]
            sizes = dataclasses.asdict(gpt_config) if gpt_config else dict(n_layer=4, n_head=4, n_embd=64)
            gpt_config = gpt_config_for(task, **sizes)
        report = None
        if exact_match_examples:
            report = exact_match_report(task, gpt_config, exact_match_examples, config.seed)
        task_to_fit = packed_task(config, gpt_config, task, report)
        fitted = fit(config, task_to_fit, run, mesh, restored, None, echo, move_old_run, progress)
        scores, texts = fitted.report
        exact = (scores, texts["examples"]) if scores else None
        return Seq2SeqResult(fitted.state, gpt_config, task, fitted.best_val_loss, fitted.last_losses, exact)
