#!/usr/bin/env bash
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
O=${OUT:-/tmp/gpu-exp}; mkdir -p $O
echo "== A/B $(date +%T)"
timeout 200 python3 exp/ab_gpu.py gpt2 4 2>&1 | grep -v Warning | tee $O/ab-gpt2.txt
echo "== cudnn layer norm $(date +%T)"
XLA_FLAGS=--xla_gpu_enable_cudnn_layer_norm=true timeout 150 python3 exp/ab_gpu.py gpt2 4 ce+qkv,old 2>&1 | grep -v Warning | tee $O/ab-gpt2-cudnn-ln.txt
echo "== done $(date +%T)"
