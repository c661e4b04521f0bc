"""Your own corpus, at any size (issue 26): scripts/prepare.py on a synthetic corpus of >= 1 GB,
beside nanoGPT's own approach (data/openwebtext/prepare.py) on the same files and the same cores.
Wall time, tokens, tokens/s and the peak memory of the whole process tree are measured; nothing
here is asserted.

    python docs/benchmarks/cpu-2026-12-04c/corpus_1gb.py --vocab_dir DIR [--gb 1.0] [--work DIR] [--num_proc 2]

--vocab_dir: GPT-2's vocab.bpe and encoder.json (JAXGPT_GPT2_VOCAB_DIR; offline machines have only a
stand-in with GPT-2's pre-tokenizer and a few merges, ~1 token a byte, so its tokens/s is not GPT-2's).
--work: where the corpus and the prepared folders are made, and kept (about 10 GB at 1 GB of text:
the stand-in's ids take 2 bytes a byte); by default a temporary folder, removed at the end.

The corpus: tiny Shakespeare's lines, shuffled (numpy default_rng(0), a new permutation each time
one is used up) into documents of 5-200 lines, until the text reaches --gb (1e9 bytes a GB), dealt
round-robin into 16 shards, written twice as the documents are made (nothing big in memory):
  corpus-txt/NN.txt            the shard's documents one after another: to prepare.py (and to
                               nanoGPT's pattern) each .txt file is ONE document, of ~64 MB at 1 GB
  corpus-jsonl.gz/NN.jsonl.gz  one {"text": ...} line a document (gzip level 1, to be quick to make)

nanoGPT's pattern (this file, run as `corpus_1gb.py --nanogpt_pattern FOLDER OUT --vocab_dir DIR`):
the documents are read in order (a .txt file whole, a .jsonl.gz line by line) and tokenized by a
multiprocessing.Pool(num_proc) with imap: each worker builds the tiktoken Encoding that jaxgpt's
BPETokenizer.gpt2() builds and returns np.array(enc.encode_ordinary(text) + [enc.eot_token], uint16),
an EOT after every document, as nanoGPT does. nanoGPT's `datasets` map caches the tokenized
documents on disk and only then, knowing the total length, fills a np.memmap train.bin in 1024
batches; here the ids are appended to ids.tmp as they arrive (the cache) and then copied into the
memmap in 1024 batches, and ids.tmp is removed. Memory holds the documents and ids in flight in
the pool, no more (imap's feeder blocks on the pipe to the workers). nanoGPT also splits off a
val.bin by documents; here every document goes to train.bin.

Tokens: jaxgpt puts one EOT between documents, nanoGPT one after each, so on the same files the
pattern makes exactly one token more (Shakespeare holds no special-token text, so encode and
encode_ordinary agree, and prepare.py cuts long texts only where GPT-2's BPE starts a word anyway);
the "same ids" column checks that its ids are jaxgpt's train.bin + val.bin and one EOT.
Peak memory: every 0.2 s, the sum over the process and all its descendants of Pss
(/proc/PID/smaps_rollup: shared pages divided among their sharers, so a forked worker is not
counted twice) and of VmRSS (/proc/PID/status: shared pages counted in every process); the maxima.
Both count the pages of a file a process maps, so the pattern's memmap shows its written pages of
train.bin (page cache the kernel may reclaim); a peak shorter than 0.2 s may be missed.
"""

import argparse
import contextlib
import gzip
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[3]
SHAKESPEARE = ROOT / "tests" / "data" / "tinyshakespeare.txt"
SHARDS = 16
LINES_PER_DOCUMENT = (5, 200)
POLL_SECONDS = 0.2
MEMMAP_BATCHES = 1024  # nanoGPT's total_batches


def make_corpus(work: pathlib.Path, gb: float) -> tuple[pathlib.Path, pathlib.Path, int, int]:
    """(the .txt folder, the .jsonl.gz folder, bytes of text, documents); see the module's docstring."""
    lines = SHAKESPEARE.read_text(encoding="utf-8").splitlines(keepends=True)
    rng = np.random.default_rng(0)
    txt, jsonl = work / "corpus-txt", work / "corpus-jsonl.gz"
    txt.mkdir()
    jsonl.mkdir()
    with contextlib.ExitStack() as files:
        txt_files = [files.enter_context(open(txt / f"{i:02d}.txt", "w", encoding="utf-8")) for i in range(SHARDS)]
        jsonl_files = [
            files.enter_context(gzip.open(jsonl / f"{i:02d}.jsonl.gz", "wt", encoding="utf-8", compresslevel=1))
            for i in range(SHARDS)
        ]
        order, at, size, documents = rng.permutation(len(lines)).tolist(), 0, 0, 0
        while size < gb * 1e9:
            length = int(rng.integers(LINES_PER_DOCUMENT[0], LINES_PER_DOCUMENT[1] + 1))
            if at + length > len(order):
                order, at = rng.permutation(len(lines)).tolist(), 0
            text = "".join([lines[i] for i in order[at : at + length]])
            at += length
            txt_files[documents % SHARDS].write(text)
            jsonl_files[documents % SHARDS].write(json.dumps({"text": text}) + "\n")
            size += len(text.encode("utf-8"))
            documents += 1
    return txt, jsonl, size, documents


# --- nanoGPT's pattern (run in its own process) -------------------------------------------------

encoding = None  # each pool worker's tiktoken Encoding


def start_worker(vocab_dir: str) -> None:
    from jaxgpt.data.tokenizer import BPETokenizer

    global encoding
    encoding = BPETokenizer.gpt2(vocab_dir).encoding


def encode_document(text: str) -> np.ndarray:
    ids = encoding.encode_ordinary(text)
    ids.append(encoding.eot_token)  # nanoGPT: an EOT after every document
    return np.array(ids, dtype=np.uint16)


def documents_of(files: list[pathlib.Path]):
    for path in files:
        if path.name.endswith(".txt"):
            yield path.read_text(encoding="utf-8")  # a file is one document, read whole
        else:
            with gzip.open(path, "rt", encoding="utf-8") as lines:
                for line in lines:
                    yield json.loads(line)["text"]


def nanogpt_pattern(folder: pathlib.Path, out: pathlib.Path, vocab_dir: str, num_proc: int) -> None:
    import multiprocessing

    files = sorted(p for p in folder.iterdir() if p.name.endswith((".txt", ".jsonl.gz")))
    chunksize = 1 if files[0].name.endswith(".txt") else 64  # 16 big documents, or many small ones
    out.mkdir(parents=True)
    cache, count, documents = out / "ids.tmp", 0, 0
    with (
        multiprocessing.Pool(num_proc, initializer=start_worker, initargs=(vocab_dir,)) as pool,
        open(cache, "wb") as ids_file,
    ):
        for ids in pool.imap(encode_document, documents_of(files), chunksize=chunksize):
            ids.tofile(ids_file)
            count += len(ids)
            documents += 1
    arr = np.memmap(out / "train.bin", dtype=np.uint16, mode="w+", shape=(count,))
    per_batch, idx = -(-count // MEMMAP_BATCHES), 0
    with open(cache, "rb") as ids_file:
        for _ in range(MEMMAP_BATCHES):
            batch = np.fromfile(ids_file, dtype=np.uint16, count=per_batch)
            arr[idx : idx + len(batch)] = batch
            idx += len(batch)
    arr.flush()
    cache.unlink()
    print(f"{count:,} tokens from {documents:,} documents in {len(files)} files, in {out / 'train.bin'}")


# --- measuring ----------------------------------------------------------------------------------


def process_tree(root: int) -> list[int]:
    """`root` and all its descendants, from each process's parent in /proc/PID/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    parent = int(stat.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue  # gone meanwhile
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def kilobytes(path: str, field: str) -> int:
    """The `field:` line's kB in a /proc file, 0 when the process is gone."""
    try:
        with open(path) as file:
            for line in file:
                if line.startswith(field):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def measured(command: list[str], env: dict, log: pathlib.Path) -> tuple[float, float, float, str]:
    """(wall seconds, peak Pss MB, peak VmRSS-sum MB, last stdout line) of `command`'s process tree."""
    peak_pss = peak_rss = 0
    start = time.perf_counter()
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=err)
        while process.poll() is None:
            tree = process_tree(process.pid)
            peak_pss = max(peak_pss, sum(kilobytes(f"/proc/{pid}/smaps_rollup", "Pss:") for pid in tree))
            peak_rss = max(peak_rss, sum(kilobytes(f"/proc/{pid}/status", "VmRSS:") for pid in tree))
            time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise SystemExit(f"failed: {' '.join(command)}\n{log.with_suffix('.err').read_text()[-2000:]}")
    return seconds, peak_pss / 1024, peak_rss / 1024, log.with_suffix(".out").read_text().strip().splitlines()[-1]


def jaxgpt_tokens(line: str) -> int:
    train, val = re.match(r"([\d,]+) train and ([\d,]+) val tokens", line).groups()
    return int(train.replace(",", "")) + int(val.replace(",", ""))


def same_ids(jaxgpt_out: pathlib.Path, nanogpt_out: pathlib.Path) -> str:
    """Whether nanoGPT's ids are jaxgpt's train.bin + val.bin and one EOT at the end, compared in slices."""
    dtype = json.loads((jaxgpt_out / "meta.json").read_text())["dtype"]
    ours = [np.memmap(jaxgpt_out / name, dtype=dtype, mode="r") for name in ("train.bin", "val.bin")]
    theirs = np.memmap(nanogpt_out / "train.bin", dtype=np.uint16, mode="r")
    if sum(len(part) for part in ours) + 1 != len(theirs):
        return "no (length)"
    at, step = 0, 1 << 24
    for part in ours:
        for first in range(0, len(part), step):
            piece = part[first : first + step]
            if not np.array_equal(piece, theirs[at : at + len(piece)]):
                return "no"
            at += len(piece)
    return "yes"


def versions(vocab_dir: str) -> str:
    import tiktoken

    from jaxgpt.data.tokenizer import BPETokenizer

    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "")
    return (
        f"python {platform.python_version()}, tiktoken {tiktoken.__version__}, numpy {np.__version__}; "
        f"nproc {len(os.sched_getaffinity(0))} ({os.cpu_count()} cores, {model}); "
        f"vocabulary {vocab_dir}: {BPETokenizer.gpt2(vocab_dir).vocab_size:,} tokens"
    )


def folder_mb(folder: pathlib.Path) -> float:
    return sum(path.stat().st_size for path in folder.iterdir()) / 1e6


def benchmark(work: pathlib.Path, gb: float, vocab_dir: str, num_proc: int, keep: bool) -> None:
    start = time.perf_counter()
    txt, jsonl, size, documents = make_corpus(work, gb)
    print(
        f"corpus: {documents:,} documents, {size / 1e9:.3f} GB of text, made in {time.perf_counter() - start:.1f} s: "
        f"{txt} ({folder_mb(txt):,.0f} MB), {jsonl} ({folder_mb(jsonl):,.0f} MB)\n",
        flush=True,
    )
    env = {**os.environ, "JAXGPT_GPT2_VOCAB_DIR": vocab_dir, "PYTHONPATH": str(ROOT)}
    print("| corpus | approach | GB of text | s | tokens | tokens/s | peak PSS MB | peak RSS-sum MB | same ids |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---|")
    for name, folder in (("txt", txt), ("jsonl.gz", jsonl)):
        ours, theirs = work / f"prepared-{name}-jaxgpt", work / f"prepared-{name}-nanogpt"
        runs = [
            (
                "jaxgpt prepare.py",
                ours,
                ["scripts/prepare.py", "--data_file", str(folder), "--out_dir", str(ours), "--tokenizer", "gpt2"],
            ),
            (
                "nanoGPT pattern",
                theirs,
                [
                    str(pathlib.Path(__file__).resolve()),
                    "--nanogpt_pattern",
                    str(folder),
                    str(theirs),
                    "--vocab_dir",
                    vocab_dir,
                ],
            ),
        ]
        for approach, out, command in runs:
            command = [sys.executable, *command, "--num_proc", str(num_proc)]
            seconds, pss, rss, line = measured(command, env, work / f"{out.name}.log")
            tokens = jaxgpt_tokens(line) if out == ours else int(line.split()[0].replace(",", ""))
            same = same_ids(ours, theirs) if out == theirs else ""
            print(
                f"| {name} | {approach} | {size / 1e9:.3f} | {seconds:.1f} | {tokens:,} | {tokens / seconds:,.0f} "
                f"| {pss:,.0f} | {rss:,.0f} | {same} |",
                flush=True,
            )
        if not keep:
            shutil.rmtree(ours)
            shutil.rmtree(theirs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vocab_dir", required=True, help="GPT-2's vocab.bpe and encoder.json")
    parser.add_argument("--gb", type=float, default=1.0, help="GB (1e9 bytes) of text (default: %(default)s)")
    parser.add_argument("--work", help="a new or empty folder for the corpus and outputs, kept (default: a temp dir)")
    parser.add_argument("--num_proc", type=int, default=2, help="processes / threads that tokenize (default: 2)")
    parser.add_argument("--nanogpt_pattern", nargs=2, metavar=("FOLDER", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.nanogpt_pattern:
        folder, out = map(pathlib.Path, args.nanogpt_pattern)
        nanogpt_pattern(folder, out, args.vocab_dir, args.num_proc)
        return
    print(versions(args.vocab_dir), flush=True)
    if args.work:
        work = pathlib.Path(args.work)
        work.mkdir(parents=True, exist_ok=True)
        if any(work.iterdir()):
            raise SystemExit(f"--work {work} is not empty: choose a new or empty folder")
        benchmark(work, args.gb, args.vocab_dir, args.num_proc, keep=True)
    else:
        with tempfile.TemporaryDirectory() as work:
            benchmark(pathlib.Path(work), args.gb, args.vocab_dir, args.num_proc, keep=False)


if __name__ == "__main__":
    main()
