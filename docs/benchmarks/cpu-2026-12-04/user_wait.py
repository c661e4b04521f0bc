"""What a user waits for on a CPU, jaxgpt beside nanoGPT's own train.py, one run after the other:

  one       the one-iteration run (--max_iters 1 --eval_interval 1 --eval_iters 2), command to exit,
            warm (compilation cache filled) and cold (its jit folder emptied first)
  whole     the whole default run (python scripts/train.py: 2000 iterations, eval_iters 20) beside
            nanoGPT's CPU recipe from its README; wall time and the time outside the steps
  logging   the tiny model (1 layer, 32 wide, block 32, batch 4) at --log_interval 1 and 100
  mfu       the MFU shown while a second busy process runs, then after it stops

  python docs/benchmarks/cpu-2026-12-04/user_wait.py --jaxgpt . --nanogpt PATH [--before PATH] [--runs 3]
    [--parts one,whole,logging,mfu]

--nanogpt: a checkout of karpathy/nanoGPT with data/shakespeare_char prepared (its prepare.py);
--before: another jaxgpt checkout (e.g. a `git worktree` of an older commit) timed the same way.
Every run gets its own out_dir and JAXGPT_CACHE_DIR; tiny Shakespeare is read from --data_file.
"""

import argparse
import json
import os
import pathlib
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
ONE = ["--max_iters", "1", "--eval_interval", "1", "--eval_iters", "2"]
NANOGPT_CPU = [  # nanoGPT's README, "I only have a macbook" (CPU), 2000 iterations
    "config/train_shakespeare_char.py", "--device=cpu", "--compile=False", "--eval_iters=20", "--log_interval=1",
    "--block_size=64", "--batch_size=12", "--n_layer=4", "--n_head=4", "--n_embd=128", "--max_iters=2000",
    "--lr_decay_iters=2000", "--dropout=0.0",
]  # fmt: skip
TINY = ["--n_layer", "1", "--n_head", "4", "--n_embd", "32", "--block_size", "32", "--batch_size", "4"]


def timed(command, cwd, env, log):
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    log.write(f"$ {' '.join(map(str, command))}\n{done.stdout}{done.stderr[-3000:]}\n")
    log.write(f"exit {done.returncode} in {seconds:.2f} s\n\n")
    if done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(map(str, command))}\n{done.stderr[-2000:]}")
    return seconds, done.stdout + done.stderr


class Jaxgpt:
    def __init__(self, checkout, data_file, work):
        self.checkout, self.data_file, self.work = pathlib.Path(checkout).resolve(), data_file, work
        self.cache = work / f"cache-{self.checkout.name}"
        self.cache.mkdir(parents=True, exist_ok=True)
        shutil.copy(data_file, self.cache / "tinyshakespeare.txt")  # as the download would leave it
        self.env = {**os.environ, "JAXGPT_CACHE_DIR": str(self.cache), "PYTHONPATH": str(self.checkout)}

    def run(self, flags, log, cold=False):
        out_dir = tempfile.mkdtemp(dir=self.work)
        if cold:
            shutil.rmtree(self.cache / "jit", ignore_errors=True)
        seconds, output = timed(
            [sys.executable, "scripts/train.py", *flags, "--out_dir", out_dir], self.checkout, self.env, log
        )
        return seconds, output, pathlib.Path(out_dir)


def steps_ms(out_dir) -> list[float]:
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    return [r["ms_per_iter"] for r in records if "ms_per_iter" in r]


def nanogpt_run(nanogpt, flags, log):
    out_dir = tempfile.mkdtemp()
    seconds, output = timed([sys.executable, "train.py", *flags, f"--out_dir={out_dir}"], nanogpt, os.environ, log)
    shutil.rmtree(out_dir)
    iters = [float(ms) for ms in re.findall(r"^iter \d+: loss [\d.]+, time ([\d.]+)ms", output, re.M)]
    return seconds, output, iters


def part_one(sides, nanogpt, runs, log):
    print("\n## one iteration, command to exit (s)")
    for name, side in sides.items():
        side.run(ONE, log)  # fills the compilation cache
        warm = [side.run(ONE, log)[0] for _ in range(runs)]
        cold = [side.run(ONE, log, cold=True)[0] for _ in range(runs)]
        line = side.run(ONE, log)[1]
        first = re.search(r"first step done .*", line)
        print(f"{name:10s} warm {fmt(warm)}   cold {fmt(cold)}   {first[0] if first else ''}")
    if nanogpt:
        flags = with_flags(NANOGPT_CPU, max_iters=1, eval_interval=1, eval_iters=2)
        times = [nanogpt_run(nanogpt, flags, log)[0] for _ in range(runs)]
        print(f"{'nanoGPT':10s} warm {fmt(times)}   (no compilation: cold is the same)")


def part_whole(sides, nanogpt, runs, log):
    print("\n## the whole default run: wall s, median ms/step, s outside the steps (wall - 2000 x median step)")
    rows = {}
    for i in range(runs):
        for name, side in sides.items():
            seconds, output, out_dir = side.run([], log)
            ms = statistics.median(steps_ms(out_dir)[1:])
            val = re.search(r"best val loss ([\d.]+)", output)[1]
            rows.setdefault(name, []).append((seconds, ms, seconds - 2000 * ms / 1000, val))
        if nanogpt:
            seconds, output, iters = nanogpt_run(nanogpt, NANOGPT_CPU, log)
            ms = statistics.median(iters[1:])
            val = re.findall(r"val loss ([\d.]+)", output)[-1]
            rows.setdefault("nanoGPT", []).append((seconds, ms, seconds - 2000 * ms / 1000, val))
    for name, values in rows.items():
        walls, mss, outside, vals = zip(*values)
        print(f"{name:10s} wall {fmt(walls)}   step {fmt(mss, 1)} ms   outside {fmt(outside)}   val {', '.join(vals)}")


def part_logging(sides, runs, log):
    print("\n## tiny model, ms per step (3000 iterations; the median window of metrics.jsonl)")
    for name, side in sides.items():
        result = {}
        for interval in ("1", "100"):
            flags = [
                *TINY,
                "--max_iters",
                "3000",
                "--eval_interval",
                "3000",
                "--eval_iters",
                "2",
                "--log_interval",
                interval,
            ]
            result[interval] = [statistics.median(steps_ms(side.run(flags, log)[2])[1:]) for _ in range(runs)]
        ratio = statistics.median(result["1"]) / statistics.median(result["100"])
        print(f"{name:10s} log_interval 1: {fmt(result['1'], 3)}   100: {fmt(result['100'], 3)}   ratio {ratio:.2f}")


def part_mfu(sides, log):
    print("\n## MFU shown by two runs at once (the second starts 3 s after the first), no peak kept before")
    for name, side in sides.items():
        (side.cache / "peak_flops.json").unlink(missing_ok=True)
        flags = ["--eval_interval", "1000", "--eval_iters", "2", "--log_interval", "10"]
        runs = []
        for iters in ("400", "150"):
            command = [sys.executable, "scripts/train.py", *flags, "--max_iters", iters]
            out_dir = tempfile.mkdtemp(dir=side.work)
            runs.append(
                subprocess.Popen(
                    [*command, "--out_dir", out_dir],
                    cwd=side.checkout,
                    env=side.env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    text=True,
                )
            )
            time.sleep(3)
        for which, process in zip(("first", "second"), runs):
            output = process.communicate()[0]
            log.write(output)
            shown = [float(m) for m in re.findall(r"mfu=([\d.]+)%", output)]
            print(f"{name:10s} {which} run: highest MFU shown {max(shown):.1f}% (last {shown[-1]:.1f}%)")


def with_flags(flags, **overrides):
    """nanoGPT's --name=value flags with some values replaced or added."""
    kept = [f for f in flags if f.split("=")[0].lstrip("-") not in overrides]
    return kept + [f"--{name}={value}" for name, value in overrides.items()]


def fmt(values, digits=2):
    return f"{statistics.median(values):.{digits}f} (" + ", ".join(f"{v:.{digits}f}" for v in values) + ")"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jaxgpt", default=str(ROOT))
    parser.add_argument("--before", help="another jaxgpt checkout, timed the same way")
    parser.add_argument("--nanogpt", help="a nanoGPT checkout with data/shakespeare_char prepared")
    parser.add_argument("--data_file", default=str(ROOT / "tests" / "data" / "tinyshakespeare.txt"))
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--parts", default="one,whole,logging,mfu")
    parser.add_argument("--log", default="user_wait.log", help="every command's output")
    args = parser.parse_args()
    work = pathlib.Path(tempfile.mkdtemp(prefix="user-wait-"))
    sides = {"jaxgpt": Jaxgpt(args.jaxgpt, args.data_file, work)}
    if args.before:
        sides = {"before": Jaxgpt(args.before, args.data_file, work), **sides}
    parts = args.parts.split(",")
    with open(args.log, "w") as log:
        print(f"{time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} cores; load {os.getloadavg()[0]:.2f}")
        if "one" in parts:
            part_one(sides, args.nanogpt, args.runs, log)
        if "logging" in parts:
            part_logging(sides, args.runs, log)
        if "mfu" in parts:
            part_mfu(sides, log)
        if "whole" in parts:
            part_whole(sides, args.nanogpt, args.runs, log)
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
