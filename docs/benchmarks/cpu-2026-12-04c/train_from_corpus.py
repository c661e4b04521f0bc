"""Training from a big prepared corpus against tiny Shakespeare, the same model and tokenizer
(issue 26): the median time an iteration takes (the loader must never be the bottleneck) and the
process's resident memory (VmRSS, and RssFile: file pages mapped into it) after its first logged
step and at its end. The runs take turns; nothing here is asserted.

    python docs/benchmarks/cpu-2026-12-04c/train_from_corpus.py --corpus PREPARED_FOLDER --vocab_dir DIR
        [--max_iters 2000] [--runs 2]

--corpus: a folder scripts/prepare.py made with --tokenizer gpt2 (e.g. corpus_1gb.py's
prepared-txt-jaxgpt); tiny Shakespeare is prepared the same way, with the same --vocab_dir.
The model is train.py's default on a CPU (shakespeare-char-cpu: 4 layers, 128 wide, batch 12 x 64).
"""

import argparse
import json
import os
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]


def status_mb(pid: int) -> dict:
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssFile", "RssAnon"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def train(data: pathlib.Path, out_dir: pathlib.Path, max_iters: int, env: dict) -> dict:
    command = [sys.executable, "scripts/train.py", "--dataset", str(data), "--out_dir", str(out_dir)]
    command += ["--max_iters", str(max_iters), "--eval_interval", str(max_iters), "--log_interval", "10"]
    env = {**env, "JAXGPT_ALLOCATOR": "system"}  # no restart: the pid read here is the one that trains
    start = time.perf_counter()
    child = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    readings = []  # (iterations logged so far, memory)
    metrics = out_dir / "metrics.jsonl"
    while child.poll() is None:
        try:
            logged = metrics.read_text().count('"loss"') if metrics.exists() else 0
            readings.append((logged, status_mb(child.pid)))
        except (FileNotFoundError, ValueError, ProcessLookupError):
            break
        time.sleep(0.5)
    if child.wait() != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{child.stderr.read().decode()[-2000:]}")
    wall = time.perf_counter() - start
    records = [json.loads(line) for line in metrics.read_text().splitlines()]
    steps_ms = [r["ms_per_iter"] for r in records if "ms_per_iter" in r][1:]  # the first holds compilation
    after_first = [memory for logged, memory in readings if logged >= 1]
    return {
        "median_ms": statistics.median(steps_ms),
        "wall": wall,
        "first": after_first[0],
        "last": after_first[-1],
        "peak": max(memory["VmRSS"] for memory in after_first),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", required=True)
    parser.add_argument("--vocab_dir", required=True)
    parser.add_argument("--max_iters", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    env = {**os.environ, "JAXGPT_GPT2_VOCAB_DIR": args.vocab_dir}
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        shakespeare = work / "shakespeare"
        subprocess.run(
            [sys.executable, "scripts/prepare.py", "--data_file", "tests/data/tinyshakespeare.txt", "--out_dir",
             str(shakespeare)], cwd=ROOT, env=env, check=True, capture_output=True,
        )  # fmt: skip
        sides = {"corpus": pathlib.Path(args.corpus), "tiny Shakespeare": shakespeare}
        sizes = {name: (folder / "train.bin").stat().st_size / 1e6 for name, folder in sides.items()}
        print(f"{args.max_iters} iterations of train.py's CPU default; train.bin: "
              + ", ".join(f"{name} {mb:,.0f} MB" for name, mb in sizes.items()))  # fmt: skip
        print("| data | run | median ms/iter | wall s | VmRSS after step 10 -> end (peak) MB | RssFile MB |")
        print("|---|---|---:|---:|---|---|")
        for run in range(args.runs):
            for name, folder in sides.items():
                result = train(folder, work / f"out-{run}-{name.split()[0]}", args.max_iters, env)
                first, last = result["first"], result["last"]
                print(
                    f"| {name} | {run + 1} | {result['median_ms']:.1f} | {result['wall']:.1f} | "
                    f"{first['VmRSS']:.0f} -> {last['VmRSS']:.0f} ({result['peak']:.0f}) | "
                    f"{first['RssFile']:.0f} -> {last['RssFile']:.0f} |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
