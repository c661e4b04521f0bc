#!/usr/bin/env bash
# GPT-2 124M bf16 train-step variants on one GPU; outputs to $OUT
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
O=${OUT:-/tmp/gpu-exp}; mkdir -p $O
B="python3 scripts/bench.py --skip_generation --preset gpt2 --vocab_size 50304 --iters 20 --attention_impl cudnn --dtype bfloat16"
run() { local name=$1; shift; echo "== $name $(date +%T)"; timeout 120 env "$@" 2>&1 | grep -v "it/s\]" > $O/$name.txt; grep -E "ms/iter|rror" $O/$name.txt | head -5; }
run profile $B --batch_size 16 --profile 20:23 --loop_iters 30 --out_dir /tmp/g2
python3 exp/top_kernels.py /tmp/g2/profile 3 > $O/top_kernels.txt 2>&1; head -60 $O/top_kernels.txt
run cudnn_ln XLA_FLAGS=--xla_gpu_enable_cudnn_layer_norm=true $B --batch_size 16
run b32 $B --batch_size 32
run no_triton_gemm XLA_FLAGS=--xla_gpu_enable_triton_gemm=false $B --batch_size 16
run base $B --batch_size 16
echo "== done $(date +%T)"
