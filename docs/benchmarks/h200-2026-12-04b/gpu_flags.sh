# GPT-2 124M's train step (batch 16 x 1024, bfloat16, cuDNN attention) under XLA flags not tried
# before, each in its own process (XLA reads XLA_FLAGS once; an unknown flag stops that process
# only). Run from the repository root.
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
O=${OUT:-/tmp/gpu-flags}; mkdir -p $O
bench() {  # name, XLA_FLAGS additions, bench flags...
  local name=$1 flags=$2; shift 2
  XLA_FLAGS="--xla_gpu_enable_cudnn_layer_norm=true $flags" timeout 150 python3 scripts/bench.py --preset gpt2 \
    --vocab_size 50304 --batch_size 16 --dtype bfloat16 --attention_impl cudnn --skip_generation --iters 10 "$@" \
    > $O/$name.txt 2>&1
  echo "$name (rc $?): $(grep -a 'jaxgpt ' $O/$name.txt | head -1) $(grep -a -m1 'rror' $O/$name.txt | cut -c1-160)" | tee -a $O/log.txt
}
bench base ""
bench no-command-buffer "--xla_gpu_enable_command_buffer="
bench exhaustive-tiling "--xla_gpu_exhaustive_tiling_search=true"
bench b24 "" --batch_size 24
bench base-again ""
