"""scripts/prepare.py's peak memory and speed as the corpus grows (issue 26): tiny Shakespeare
repeated into one big text file and into a folder of .jsonl.gz shards, prepared by this checkout
and, with --before, by another one (the in-memory prepare). Peak RSS and wall time come from
/usr/bin/time; nothing here is asserted.

    python docs/benchmarks/cpu-2026-12-04b/prepare_memory.py --vocab_dir DIR [--before PATH] [--sizes 14,56,224]

--vocab_dir: GPT-2's vocab.bpe and encoder.json (JAXGPT_GPT2_VOCAB_DIR; offline machines have only a
stand-in with GPT-2's pre-tokenizer and a few merges, which tokenizes more tokens a byte than GPT-2).
"""

import argparse
import gzip
import json
import os
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHAKESPEARE = ROOT / "tests" / "data" / "tinyshakespeare.txt"


def make_corpus(work: pathlib.Path, copies: int) -> tuple[pathlib.Path, pathlib.Path]:
    """One text file of `copies` x tiny Shakespeare, and the same text as .jsonl.gz shards of one
    paragraph a document (8 shards)."""
    text = SHAKESPEARE.read_text()
    big = work / f"shakespeare-x{copies}.txt"
    with open(big, "w") as out:
        for _ in range(copies):
            out.write(text)
    shards = work / f"shards-x{copies}"
    shards.mkdir()
    paragraphs = [p for p in text.split("\n\n") if p]
    files = [gzip.open(shards / f"{i:02d}.jsonl.gz", "wt") for i in range(8)]
    for copy in range(copies):
        for n, paragraph in enumerate(paragraphs):
            files[(copy * len(paragraphs) + n) % 8].write(json.dumps({"text": paragraph}) + "\n")
    for file in files:
        file.close()
    return big, shards


def measured(checkout, args, env) -> tuple[float, float, str]:
    """(peak RSS in MB, wall seconds, last line) of scripts/prepare.py in `checkout`."""
    command = ["/usr/bin/time", "-f", "%M %e", sys.executable, "scripts/prepare.py", *args]
    done = subprocess.run(
        command, cwd=checkout, env={**env, "PYTHONPATH": str(checkout)}, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{done.stderr[-2000:]}")
    kb, seconds = done.stderr.strip().splitlines()[-1].split()
    return int(kb) / 1024, float(seconds), done.stdout.strip().splitlines()[-1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--vocab_dir", required=True)
    parser.add_argument("--before", help="another checkout, whose prepare.py reads the file whole")
    parser.add_argument("--sizes", default="14,56,224", help="copies of tiny Shakespeare (1.1 MB each)")
    parser.add_argument("--num_proc", default="1,2")
    args = parser.parse_args()
    env = {**os.environ, "JAXGPT_GPT2_VOCAB_DIR": args.vocab_dir}
    print(f"{'input':<28}{'MB':>8}{'tokenizer':>10}{'threads':>8}{'side':>8}{'peak RSS MB':>13}{'s':>8}  result")
    with tempfile.TemporaryDirectory() as work:
        work = pathlib.Path(work)
        for copies in map(int, args.sizes.split(",")):
            big, shards = make_corpus(work, copies)
            megabytes = big.stat().st_size / 1e6
            cases = [(big.name, [str(big)], tokenizer) for tokenizer in ("char", "gpt2")]
            cases.append((shards.name + "/", [str(shards)], "gpt2"))
            for name, inputs, tokenizer in cases:
                for threads in args.num_proc.split(","):
                    sides = [("now", ROOT, ["--num_proc", threads])]
                    if args.before and name == big.name and threads == "1":
                        sides.append(("before", pathlib.Path(args.before), []))
                    for side, checkout, extra in sides:
                        out = tempfile.mkdtemp(dir=work)
                        flags = ["--data_file", *inputs, "--out_dir", out, "--tokenizer", tokenizer, *extra]
                        peak, seconds, line = measured(checkout, flags, env)
                        print(
                            f"{name:<28}{megabytes:8.0f}{tokenizer:>10}{threads:>8}{side:>8}{peak:13.0f}"
                            f"{seconds:8.1f}  {line[:90]}",
                            flush=True,
                        )


if __name__ == "__main__":
    main()
