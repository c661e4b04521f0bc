#!/usr/bin/env bash
# The GPU figures of the README in one run (about 5 minutes on one H100/H200):
#   bash scripts/gpu_check.sh [path/to/tinyshakespeare.txt] [output folder]
# 1. versions; 2. GPT-2 124M (block 1024, bfloat16, cuDNN attention) train step, MFU against the
# data sheet and against the card's measured bf16 matmul speed, side by side with transformers'
# GPT2LMHeadModel in PyTorch; 3. nanoGPT's shakespeare-char recipe; 4. its train step vs PyTorch.
set -u
DATA=${1:-tests/data/tinyshakespeare.txt}  # the copy that ships with the tests
OUT_DIR=${2:-gpu-check}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import jax, flax, optax, orbax.checkpoint as o, torch, transformers as t; \
print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'orbax', o.__version__, \
'torch', torch.__version__, 'transformers', t.__version__); print(jax.devices())"
for BATCH in 16 32; do
  timeout 200 python3 scripts/bench.py --preset gpt2 --vocab_size 50304 --batch_size "$BATCH" --iters 20 \
    --dtype bfloat16 --attention_impl cudnn --vs-torch --skip_generation 2>&1 | tee "$OUT_DIR/bench-gpt2-b$BATCH.txt"
done
# nanoGPT's shakespeare-char recipe, its cosine schedule shortened to 2500 iterations (the 5000 of the
# recipe overfit after ~2000 on an H200)
timeout 200 python3 scripts/train.py --preset shakespeare-char --dtype bfloat16 --data_file "$DATA" \
  --max_iters 2500 --lr_decay_iters 2500 \
  --out_dir /tmp/gpu-check-shakespeare-char 2>"$OUT_DIR/train-progress.txt" | tee "$OUT_DIR/train-shakespeare-char.txt"
cp /tmp/gpu-check-shakespeare-char/metrics.jsonl "$OUT_DIR/" 2>/dev/null
timeout 120 python3 scripts/bench.py --preset shakespeare-char --dtype bfloat16 --attention_impl cudnn --iters 50 \
  --vs-torch --skip_generation 2>&1 | tee "$OUT_DIR/bench-shakespeare-char.txt"
