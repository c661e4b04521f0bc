"""scripts/bench.py: train-step speed and MFU, generation tokens/s with and without the KV cache.

python scripts/bench.py                       # the preset this machine trains by default
python scripts/bench.py --preset shakespeare-char --dtype bfloat16
python scripts/bench.py --skip_training --gen_preset gpt2 --gen_tokens 100 --vs-torch   # GPT-2 124M decoding
python scripts/bench.py --preset gpt2 --vocab_size 50304 --batch_size 16 --dtype bfloat16 \
    --attention_impl cudnn --vs-torch            # GPT-2 124M on a GPU, side by side with PyTorch
"""

from __future__ import annotations

import argparse
import dataclasses

import jax

from jaxgpt.benchmark.pytorch import TORCH_PEERS, describe_peer, time_torch_generation, time_torch_train_step
from jaxgpt.benchmark.timing import (
    measure_read_bandwidth,
    time_generation,
    time_train_step,
    time_training_loop,
    weight_bytes,
)
from jaxgpt.cli.allocator import describe
from jaxgpt.cli.run import OneLineErrorParser
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPT_PRESETS, GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.recipes import TRAIN_RECIPES, default_preset


def fastest(best: dict | None, result: dict) -> dict:
    return result if best is None or result["ms_per_iter"] < best["ms_per_iter"] else best


def bench_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="bench.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add = parser.add_argument
    add(
        "--preset",
        choices=list(GPT_PRESETS),
        default=default_preset(),
        help="model size and training recipe to time (default: %(default)s, this machine's training default)",
    )
    add("--batch_size", type=int, default=None, help="sequences per step (default: the preset's training recipe)")
    add("--vocab_size", type=int, default=None, help="vocabulary size (default: the preset's; 50304 pads GPT-2's)")
    add("--block_size", type=int, default=None, help="context length (default: the preset's)")
    add("--iters", type=int, default=20, help="steps per timed window; the fastest of 3 counts (default: %(default)s)")
    add("--rounds", type=int, default=3, help="--vs-torch: rounds of taking turns (default: %(default)s)")
    add("--remat", action="store_true", help="recompute each block's activations in the backward (default: off)")
    add(
        "--loop",
        action="store_true",
        help="also time the real training loop (batches prefetched, the loss read every log_interval, "
        "an evaluation excluded) at the same settings, beside the bare step (default: off)",
    )
    add(
        "--profile",
        default=None,
        help="START:STOP, e.g. 100:110: a jax.profiler trace of those iterations of the timed loop (turns "
        "--loop on), in --out_dir/profile, for Perfetto or TensorBoard (default: none)",
    )
    add("--out_dir", default="out-bench", help="--profile: the folder of the trace (default: %(default)s)")
    add("--loop_iters", type=int, default=300, help="--loop: iterations of the timed loop (default: %(default)s)")
    add("--skip_generation", action="store_true", help="time the train step only (default: off)")
    add("--skip_training", action="store_true", help="time generation only (default: off)")
    add(
        "--dtype",
        choices=["float32", "bfloat16", "float16"],
        default="float32",
        help="compute dtype; float16 with dynamic loss scaling on both sides (default: %(default)s)",
    )
    add(
        "--attention_impl",
        choices=["manual", "xla", "cudnn"],
        default="manual",
        help="manual einsums, or jax.nn.dot_product_attention's xla or cudnn kernel (default: %(default)s)",
    )
    add(
        "--gen_preset",
        choices=list(GPT_PRESETS),
        default="shakespeare-char",
        help="model whose generation speed is timed (default: %(default)s)",
    )
    add("--gen_tokens", type=int, default=500, help="tokens to generate per timing (default: %(default)s)")
    add(
        "--vs-torch",
        dest="vs_torch",
        action="store_true",
        help="also time PyTorch on the same work, in this process: the train step with --torch_peer, "
        "generation with transformers' GPT2LMHeadModel, whose generate keeps a KV cache as ours does "
        "(nanoGPT's model has none) (default: off)",
    )
    add(
        "--torch_peer",
        choices=TORCH_PEERS,
        default="nanogpt",
        help="--vs-torch's train-step model: nanogpt, GPT written as nanoGPT writes it (exact GELU, fused "
        "SDPA attention, biases as the preset), or transformers' GPT2LMHeadModel (default: %(default)s)",
    )
    add(
        "--torch_compile",
        action="store_true",
        help="--vs-torch: run the PyTorch train step through torch.compile, nanoGPT's default on GPUs "
        "(default: off, eager)",
    )
    return parser


def bench_training(args, model_config: GPTConfig, train_config: TrainConfig, profiled: TrainConfig) -> None:
    """The train step, beside PyTorch with --vs-torch and beside the real loop with --loop."""
    # with --vs-torch the two take turns, round after round, and each keeps its fastest round:
    # a slow spell of a shared machine then hits both rather than one
    rounds = args.rounds if args.vs_torch else 1
    train, torch_train = None, None
    for _ in range(rounds):
        train = fastest(train, time_train_step(model_config, train_config, args.iters))
        if args.vs_torch:
            torch_train = fastest(
                torch_train,
                time_torch_train_step(
                    model_config, train_config, args.iters, peer=args.torch_peer, compile=args.torch_compile
                ),
            )
    print(
        f"\ntrain step, {args.preset}, batch {train_config.batch_size} x block {model_config.block_size}, "
        f"{args.dtype}, attention {args.attention_impl}"
    )
    print(
        f"  jaxgpt   {train['ms_per_iter']:8.1f} ms/iter  {train['tokens_per_sec']:10,.0f} tokens/s  "
        f"MFU {100 * train['mfu']:.1f}%"
        + (
            f" ({100 * train['mfu_measured']:.1f}% of the measured {train['measured_peak'] / 1e12:.0f} TFLOP/s)"
            if "mfu_measured" in train
            else ""
        )
    )
    if args.vs_torch:
        print(
            f"  PyTorch  {torch_train['ms_per_iter']:8.1f} ms/iter  {torch_train['tokens_per_sec']:10,.0f} tokens/s  "
            f"({describe_peer(args.torch_peer, model_config, args.torch_compile)}, on {torch_train['device']}, "
            f"{args.dtype})\n"
            f"  jaxgpt speed / PyTorch speed: {torch_train['ms_per_iter'] / train['ms_per_iter']:.2f}x"
        )

    if args.loop or args.profile:
        loop = time_training_loop(model_config, profiled, args.loop_iters)
        loop_fastest = loop["fastest_ms_per_iter"]
        print(
            f"  loop     {loop['ms_per_iter']:8.1f} ms/iter  (the training loop: median of {loop['windows']} windows "
            f"of {train_config.log_interval}; the fastest {loop_fastest:.1f} ms, "
            f"{loop_fastest / train['ms_per_iter']:.2f}x the bare step's fastest)"
        )


def bench_main(argv: list[str]) -> int:
    args = bench_parser().parse_args(argv)
    if args.profile and args.skip_training:
        raise InputError(
            f"--profile {args.profile} traces training steps, but --skip_training times none: drop one of the two"
        )

    sizes = {name: getattr(args, name) for name in ("vocab_size", "block_size") if getattr(args, name)}
    model_config = GPTConfig.from_preset(args.preset, attention_impl=args.attention_impl, remat=args.remat, **sizes)
    recipe = TRAIN_RECIPES.get(args.preset, {})
    train_config = TrainConfig(
        **{**recipe, "dtype": args.dtype, **({"batch_size": args.batch_size} if args.batch_size else {})}
    )
    # checked now, not after the other timings: the loop runs --loop_iters iterations
    profiled = dataclasses.replace(train_config, profile=args.profile, out_dir=args.out_dir, max_iters=args.loop_iters)
    print(f"device: {jax.devices()[0].device_kind} x {jax.device_count()}, backend {jax.default_backend()}")
    print(f"allocator: {describe()}")
    if not args.skip_training:
        bench_training(args, model_config, train_config, profiled)
    if args.skip_generation:
        return 0
    gen_config = GPTConfig.from_preset(args.gen_preset, attention_impl=args.attention_impl)
    block = gen_config.block_size
    print(f"\ngeneration, {args.gen_preset} (block {block}), batch 1, one-token prompt, top_k 200")
    # batch-1 decoding reads every weight once per token: the memory's read speed caps it
    weights, bandwidth = weight_bytes(gen_config), measure_read_bandwidth()
    print(
        f"  reading the weights ({weights / 1e6:.0f} MB in float32) at the {bandwidth / 1e9:.1f} GB/s measured "
        f"here allows at most about {bandwidth / weights:,.0f} tokens/s"
    )
    print(f"  {'case':<44}{'cache':>8}{'tokens/s':>12}" + (f"{'PyTorch':>10}{'ratio':>8}" if args.vs_torch else ""))
    within = min(block - 1, args.gen_tokens)
    cases = [(f"{within} tokens (within the block)", gen_config, within)]
    if args.gen_tokens >= block:
        cases.insert(0, (f"{args.gen_tokens} tokens (slides past block {block})", gen_config, args.gen_tokens))
        shorter = dataclasses.replace(gen_config, block_size=args.gen_tokens + 1)
        cases.append((f"{args.gen_tokens} tokens, block {args.gen_tokens + 1}", shorter, args.gen_tokens))
    for label, config, tokens in cases:
        for use_cache in (True, False):
            result = time_generation(config, tokens, use_cache, repeats=3 if use_cache else 1)
            line = f"  {label:<44}{'on' if use_cache else 'off':>8}{result['tokens_per_sec']:12,.0f}"
            # transformers cannot slide past n_positions, and its uncached loop is not what we compare
            if args.vs_torch and use_cache and tokens < config.block_size:
                theirs = time_torch_generation(config, tokens, use_cache)
                line += f"{theirs['tokens_per_sec']:10,.0f}{result['tokens_per_sec'] / theirs['tokens_per_sec']:7.2f}x"
            print(line)
    return 0
