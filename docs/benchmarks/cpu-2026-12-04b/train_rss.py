"""Resident memory over a run that samples from a token file larger than its batches ever need
(issue 26 item 4, nanoGPT's issue #287): 250 MB of text prepared into a 500 MB train.bin, a tiny
model trained on it with large batches, and the process's VmRSS and RssFile (/proc) read after
its first logged step and at its last, for this checkout and, with --before, another one.

    python docs/benchmarks/cpu-2026-12-04b/train_rss.py [--before PATH] [--max_iters 3000]
"""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[3]
TINY = ["--n_layer", "1", "--n_head", "2", "--n_embd", "32", "--block_size", "64", "--batch_size", "32"]


def status_mb(pid: int) -> dict:
    fields = {}
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "RssFile", "RssAnon"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def run(checkout, data, out_dir, max_iters) -> list[tuple[float, dict]]:
    command = [sys.executable, "scripts/train.py", "--dataset", str(data), "--out_dir", str(out_dir), *TINY]
    command += ["--max_iters", str(max_iters), "--eval_interval", str(max_iters), "--eval_iters", "2"]
    env = {**os.environ, "PYTHONPATH": str(checkout), "JAXGPT_ALLOCATOR": "system"}  # no restart: this pid trains
    child = subprocess.Popen(command, cwd=checkout, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    readings, start = [], time.perf_counter()
    while child.poll() is None:
        try:
            readings.append((time.perf_counter() - start, status_mb(child.pid)))
        except (FileNotFoundError, ValueError):
            break
        time.sleep(0.5)
    if child.wait() != 0:
        raise SystemExit(f"failed: {' '.join(command)}")
    return readings


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--before")
    parser.add_argument("--max_iters", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        text = (ROOT / "tests" / "data" / "tinyshakespeare.txt").read_text()
        with open(work / "big.txt", "w") as out:
            for _ in range(224):
                out.write(text)
        data = work / "data"
        subprocess.run(
            [sys.executable, "scripts/prepare.py", "--data_file", str(work / "big.txt"), "--tokenizer", "char",
             "--out_dir", str(data)], cwd=ROOT, check=True, capture_output=True,
        )  # fmt: skip
        print(f"train.bin {(data / 'train.bin').stat().st_size / 1e6:.0f} MB; {args.max_iters} iterations of 32 x 64")
        sides = [("now", ROOT)] + ([("before", pathlib.Path(args.before))] if args.before else [])
        for side, checkout in sides:
            readings = run(checkout, data, work / f"out-{side}", args.max_iters)
            steady = [r for r in readings if r[0] > 0.2 * readings[-1][0]]  # past start-up
            first, peak, last = steady[0], max(steady, key=lambda r: r[1]["VmRSS"]), steady[-1]
            print(
                f"{side:>7}: VmRSS {first[1]['VmRSS']:.0f} MB at {first[0]:.0f} s, {last[1]['VmRSS']:.0f} MB at "
                f"{last[0]:.0f} s (peak {peak[1]['VmRSS']:.0f}); RssFile {first[1]['RssFile']:.0f} -> "
                f"{last[1]['RssFile']:.0f} MB",
                flush=True,
            )


if __name__ == "__main__":
    main()
