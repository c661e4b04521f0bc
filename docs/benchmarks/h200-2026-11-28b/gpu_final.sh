#!/usr/bin/env bash
set -u
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
O=${OUT:-/tmp/gpu-final}; mkdir -p $O
echo "== gpt2 $(date +%T)"
timeout 120 python3 scripts/bench.py --skip_generation --preset gpt2 --vocab_size 50304 --batch_size 16 --iters 20 \
  --attention_impl cudnn --dtype bfloat16 --profile 20:23 --loop_iters 40 --out_dir /tmp/g3 2>&1 | grep -v "it/s\]" | tee $O/gpt2-b16.txt
python3 exp/top_kernels.py /tmp/g3/profile 3 > $O/gpt2-top-kernels.txt 2>&1; head -30 $O/gpt2-top-kernels.txt
echo "== shakespeare-char $(date +%T)"
rm -rf /tmp/sc
timeout 150 python3 scripts/train.py --preset shakespeare-char --dtype bfloat16 --data_file tests/data/tinyshakespeare.txt \
  --max_iters 2000 --lr_decay_iters 2000 --out_dir /tmp/sc 2>$O/train-progress.txt | tee $O/train-shakespeare-char.txt
cp /tmp/sc/metrics.jsonl $O/ 2>/dev/null
echo "== done $(date +%T)"
