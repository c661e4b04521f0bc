#!/usr/bin/env bash
# The GPU figures of the README in one run (about 8 minutes on one H100/H200):
#   bash scripts/gpu_check.sh [path/to/tinyshakespeare.txt] [output folder]
# 1. versions; 2. shakespeare-char's train step, bare and inside the real training loop, beside the
# nanoGPT-style PyTorch model eager and through torch.compile; 3. nanoGPT's shakespeare-char recipe
# trained for real (a profile of ten of its steps kept); 4. GPT-2 124M (block 1024, bfloat16, cuDNN
# attention): step, MFU against the data sheet and the card's measured bf16 matmul speed, beside
# PyTorch eager and compiled.
set -u
DATA=${1:-tests/data/tinyshakespeare.txt}  # the copy that ships with the tests
OUT_DIR=${2:-gpu-check}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1
nvidia-smi -L
python3 -c "import jax, flax, optax, orbax.checkpoint as o, torch, transformers as t; \
print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'orbax', o.__version__, \
'torch', torch.__version__, 'transformers', t.__version__); print(jax.devices())" 2>&1 | tee "$OUT_DIR/versions.txt"

bench() {  # bench NAME ARGS...: one bench.py run, its output kept as NAME.txt
  local name=$1
  shift
  timeout 240 python3 scripts/bench.py --skip_generation "$@" 2>&1 | grep -v "it/s\]" | tee "$OUT_DIR/$name.txt"
}
bench shakespeare-char-loop --preset shakespeare-char --dtype bfloat16 --iters 50 --loop --loop_iters 400 --vs-torch
bench shakespeare-char-compiled --preset shakespeare-char --dtype bfloat16 --iters 50 --vs-torch --torch_compile --rounds 1

# nanoGPT's shakespeare-char recipe, its cosine schedule shortened to 2000 iterations, evaluated every 250
rm -rf /tmp/gpu-check-shakespeare-char
timeout 200 python3 scripts/train.py --preset shakespeare-char --dtype bfloat16 --data_file "$DATA" \
  --max_iters 2000 --lr_decay_iters 2000 --profile 500:510 \
  --out_dir /tmp/gpu-check-shakespeare-char 2>"$OUT_DIR/train-progress.txt" | tee "$OUT_DIR/train-shakespeare-char.txt"
cp /tmp/gpu-check-shakespeare-char/metrics.jsonl "$OUT_DIR/" 2>/dev/null
cp /tmp/gpu-check-shakespeare-char/profile/plugins/profile/*/perfetto_trace.json.gz "$OUT_DIR/" 2>/dev/null

bench gpt2-b16 --preset gpt2 --vocab_size 50304 --batch_size 16 --iters 20 --attention_impl cudnn --dtype bfloat16 \
  --vs-torch
bench gpt2-b16-compiled --preset gpt2 --vocab_size 50304 --batch_size 16 --iters 20 --attention_impl cudnn \
  --dtype bfloat16 --vs-torch --torch_compile --rounds 1
