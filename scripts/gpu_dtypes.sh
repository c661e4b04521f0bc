#!/usr/bin/env bash
# The compute dtypes side by side on one GPU (about 4 minutes on an H100/H200; on a T4 float16 is
# what `auto` picks): nanoGPT's shakespeare-char recipe shortened to 1000 iterations in float32,
# bfloat16 and float16 (dynamic loss scaling), the same seed and batches; each run's val loss, its
# step time (ms per iteration in metrics.jsonl, the median of the logged steps) and float16's
# skipped steps. Then the bare train step of each dtype from bench.py.
#   bash scripts/gpu_dtypes.sh [path/to/tinyshakespeare.txt] [output folder]
set -u
DATA=${1:-tests/data/tinyshakespeare.txt}
OUT_DIR=${2:-gpu-dtypes}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi -L
for dtype in float32 bfloat16 float16; do
  rm -rf "/tmp/gpu-dtypes-$dtype"
  timeout 300 python3 scripts/train.py --preset shakespeare-char --dtype "$dtype" --data_file "$DATA" \
    --max_iters 1000 --lr_decay_iters 1000 --out_dir "/tmp/gpu-dtypes-$dtype" 2>/dev/null | tee "$OUT_DIR/train-$dtype.txt"
  cp "/tmp/gpu-dtypes-$dtype/metrics.jsonl" "$OUT_DIR/metrics-$dtype.jsonl" 2>/dev/null
done
python3 - "$OUT_DIR" <<'PY'
import json, pathlib, statistics, sys
out = pathlib.Path(sys.argv[1])
print("dtype     val loss (last eval)  median ms/iter  loss_scale (last)")
for dtype in ("float32", "bfloat16", "float16"):
    path = out / f"metrics-{dtype}.jsonl"
    if not path.exists():
        print(f"{dtype:9s} (no run)")
        continue
    records = [json.loads(line) for line in path.read_text().splitlines()]
    steps = [r for r in records if "ms_per_iter" in r]
    evals = [r for r in records if "val_loss" in r]
    scale = steps[-1].get("loss_scale", "-") if steps else "-"
    print(f"{dtype:9s} {evals[-1]['val_loss']:.4f}                {statistics.median(r['ms_per_iter'] for r in steps):7.2f}         {scale}")
PY
for dtype in float32 bfloat16 float16; do
  timeout 200 python3 scripts/bench.py --skip_generation --preset shakespeare-char --dtype "$dtype" --iters 50 \
    2>&1 | grep -v "it/s\]" | tee "$OUT_DIR/bench-$dtype.txt"
done
