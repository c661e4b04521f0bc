"""scripts/codealong_vs_torch.py: every stage of the code-along (notebooks/02_lets_build_gpt.ipynb)
trained in jaxgpt and in the video's PyTorch code with the same settings, the same batches and the
same initial weights (PyTorch's, copied into the Flax parameters); prints a table and writes the
PyTorch column into jaxgpt/study/codealong/video_losses.py, which the notebook prints beside yours.

python scripts/codealong_vs_torch.py                # every stage, seeds 0 and 1; writes video_losses.py
python scripts/codealong_vs_torch.py --stages bigram --seeds 0 --no-write
"""

from __future__ import annotations

import argparse
import datetime
import pathlib
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sources import load_text
from jaxgpt.errors import InputError
from jaxgpt.study.codealong import video_losses
from jaxgpt.study.codealong.config import STAGES
from jaxgpt.study.codealong.stage import EVAL_ITERS, block_size_of, train_stage
from jaxgpt.study.codealong.training import eval_batches, get_batches


def codealong_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="codealong_vs_torch.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add("--stages", default=",".join(STAGES), help="comma-separated stages to train (default: all, %(default)s)")
    add(
        "--seeds",
        default="0,1",
        help="seeds of the initial weights and batches; the first is stored (default: %(default)s)",
    )
    add(
        "--data_file",
        default=None,
        help="a text file instead of tiny Shakespeare (default: %(default)s, tiny Shakespeare)",
    )
    add(
        "--torch_threads",
        type=int,
        default=1,
        help="PyTorch's threads (default: %(default)s, fastest for these tiny models)",
    )
    add("--no-write", dest="write", action="store_false", help="print the table only (default: write video_losses.py)")
    return parser


def settings(stage) -> str:
    if stage.config is None:
        return f"B {stage.batch_size}, T 8, lr {stage.learning_rate:g}"
    c = stage.config
    return (
        f"B {stage.batch_size}, T {c.block_size}, C {c.n_embd}, H {c.n_head}, L {c.n_layer}, lr {stage.learning_rate:g}"
        + (f", dropout {c.dropout:g}" if c.dropout else "")
    )


def compare_stage(name: str, data: Dataset, seed: int) -> dict:
    """Stage `name` trained from PyTorch's initial weights for `seed`, in both frameworks on the batches
    of `seed`, and in jaxgpt from its own initialisation (what the notebook runs)."""
    from jaxgpt.benchmark.codealong_torch import flax_params, make_model  # torch: only when comparing
    from jaxgpt.benchmark.codealong_torch import train as torch_train

    stage = STAGES[name]
    block_size = block_size_of(stage)
    torch_model = make_model(stage.config, seed, data.tokenizer.vocab_size)
    params = jax.tree.map(jnp.asarray, flax_params(torch_model))
    start = time.perf_counter()
    same_start = train_stage(name, data, params=params, seed=seed, verbose=False)
    jax_seconds = time.perf_counter() - start
    batches = get_batches(data.train, block_size, stage.batch_size, stage.steps, seed)
    evaluation = eval_batches(data, block_size, stage.batch_size, EVAL_ITERS)
    _, torch_scores, torch_seconds = torch_train(torch_model, batches, stage.learning_rate, evaluation)
    own = train_stage(name, data, seed=seed, verbose=False)
    return dict(
        jax=same_start.val_loss, torch=torch_scores["val"], own=own.val_loss, jax_s=jax_seconds, torch_s=torch_seconds
    )


def write_video_losses(torch_val: dict, spread: dict, command: str) -> pathlib.Path:
    path = pathlib.Path(video_losses.__file__)
    when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        f'"""Written by `{command}` on {when}: do not edit, run it again.',
        "",
        "The val loss of the video's PyTorch code (jaxgpt.benchmark.codealong_torch) at each stage of",
        "jaxgpt.study.codealong.STAGES, trained from the first seed's weights on its batches, and how far a",
        "different random start fell from it (SEED_SPREAD: the other seeds in PyTorch, and jaxgpt from its",
        'own initialisation, as the notebook trains): the notebook prints TORCH_VAL_LOSS beside yours."""',
        "",
        "TORCH_VAL_LOSS = {",
        *(f'    "{name}": {loss:.4f},' for name, loss in torch_val.items()),
        "}",
        "SEED_SPREAD = {",
        *(f'    "{name}": {value:.4f},' for name, value in spread.items()),
        "}",
        "",
    ]
    path.write_text("\n".join(lines))
    return path


def codealong_main(argv=None) -> None:
    args = codealong_parser().parse_args(argv)
    names = [name.strip() for name in args.stages.split(",")]
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        raise InputError(f"unknown stage {unknown[0]!r}: the stages are {', '.join(STAGES)}")
    seeds = [int(seed) for seed in args.seeds.split(",")]
    from jaxgpt.benchmark.codealong_torch import use_threads  # torch: not for --help

    use_threads(args.torch_threads)
    text = load_text(data_file=args.data_file) if args.data_file else load_text()
    data = Dataset.from_text(text)
    columns = ["stage", "steps", "settings", "jaxgpt val", "PyTorch val", "difference", "jaxgpt own init"]
    columns += ["PyTorch other seeds", "jaxgpt s", "PyTorch s"]
    print("| " + " | ".join(columns) + " |\n|" + "---|" * len(columns))
    torch_val, spread = {}, {}
    for name in names:
        runs = [compare_stage(name, data, seed) for seed in seeds]
        first, others = runs[0], runs[1:]
        torch_val[name] = first["torch"]
        starts = [first["own"]] + [run["torch"] for run in others]  # other random starts than the first seed's
        spread[name] = max(abs(loss - first["torch"]) for loss in starts)
        stage = STAGES[name]
        print(
            f"| {name} | {stage.steps} | {settings(stage)} | {first['jax']:.4f} | {first['torch']:.4f} | "
            f"{first['jax'] - first['torch']:+.4f} | {first['own']:.4f} | "
            + " ".join(f"{run['torch']:.4f}" for run in others)
            + f" | {np.mean([r['jax_s'] for r in runs]):.1f} | {np.mean([r['torch_s'] for r in runs]):.1f} |",
            flush=True,
        )
    if args.write and names == list(STAGES):
        command = "python scripts/codealong_vs_torch.py " + " ".join(sys.argv[1:])
        print(f"wrote {write_video_losses(torch_val, spread, command.strip())}")
