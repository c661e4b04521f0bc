#!/usr/bin/env bash
# One H200, GPT-2 124M (batch 16 x 1024, bfloat16, cuDNN attention), issue 25 item 4 (MFU 44.1 -> 50 %):
#   1. ab_mfu.py: the train-step variants in one process, timed in turns (~150 s);
#   2. scripts/bench.py twice under XLA flag sets, which one process cannot switch (~40 s each).
# Run from the repository root:  bash docs/benchmarks/h200-2026-12-04/gpu_ab.sh
# Every line goes into $OUT (default /tmp/gpu-ab) as it is printed, so a timeout keeps what was done.
# BUDGET (seconds, default 290) caps the whole: each part's timeout is its own or what is left, if less.
# VARIANTS=base,flatp,... narrows ab_mfu.py's variants; PY picks the interpreter (default python3).
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
O=${OUT:-/tmp/gpu-ab}
mkdir -p "$O"
D=docs/benchmarks/h200-2026-12-04
PY=${PY:-python3}
BUDGET=${BUDGET:-290}
left() { local rest=$((BUDGET - SECONDS)); if [ "$1" -lt "$rest" ]; then echo "$1"; else echo "$rest"; fi; }
part() { echo "== $1 $(date +%T) (${SECONDS} s in)" | tee -a "$O/log.txt"; }

part "device"
nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,power.limit --format=csv,noheader 2>&1 | tee -a "$O/log.txt"

part "ab_mfu.py (variants in one process)"
timeout "$(left 200)" $PY $D/ab_mfu.py ${VARIANTS:+--variants "$VARIANTS"} 2>&1 \
  | grep --line-buffered -v "Warning" | tee "$O/ab_mfu.txt"

BENCH="$PY scripts/bench.py --skip_generation --preset gpt2 --vocab_size 50304 --batch_size 16 --iters 20
  --attention_impl cudnn --dtype bfloat16"
bench() {  # name, XLA_FLAGS (jaxgpt's run() adds --xla_gpu_enable_cudnn_layer_norm=true to either)
  local t
  t=$(left 90)
  part "bench $1: XLA_FLAGS=$2"
  if [ "$t" -lt 45 ]; then
    echo "skipped: only $t s of the budget left" | tee "$O/bench-$1.txt"
    return
  fi
  XLA_FLAGS="$2" timeout "$t" $BENCH 2>&1 | grep --line-buffered -v "it/s\]" | tee "$O/bench-$1.txt"
}
# bias (and the tanh GELU) fused into cuBLASLt epilogues instead of separate element-wise kernels
bench cublaslt "--xla_gpu_enable_cublaslt=true"
# the same with every product on cuBLASLt (Triton's GEMM fusions, which take element-wise producers
# into their prologues, off: 0.5 ms faster without cuDNN LayerNorm in h200-2026-11-28b/no_triton_gemm.txt)
bench cublaslt-notriton "--xla_gpu_enable_cublaslt=true --xla_gpu_enable_triton_gemm=false"
part "done"
