set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
O=${OUT:-/tmp/gpu-final}; mkdir -p $O
python3 -c "import tensorboardX" 2>/dev/null || python3 -m pip install -q --no-deps out-nanogpt/wheels/*.whl 2>&1 | grep -v WARNING
python3 -c "import tensorboardX; print('tensorboardX', tensorboardX.__version__)"
run() {  # name, flags...: a cold run (the compilation cache emptied), command to exit
  local name=$1; shift
  rm -rf ~/.cache/jaxgpt/jit /tmp/sc
  local s=$(date +%s.%N)
  timeout 150 python3 scripts/train.py --preset shakespeare-char --data_file tests/data/tinyshakespeare.txt --out_dir /tmp/sc "$@" > $O/$name.txt 2>$O/$name-progress.txt
  local rc=$?
  echo "$name exit $rc wall $(python3 -c "import time; print(round(time.time() - $s, 1))") s" | tee -a $O/log.txt
  grep -a "first step\|iterations in\|best val" $O/$name.txt | tail -3
  cp /tmp/sc/metrics.jsonl $O/$name-metrics.jsonl 2>/dev/null
}
run whole-2000-ahead-on --max_iters 2000 --lr_decay_iters 2000 --compile_ahead on
run one-ahead-off --max_iters 1 --eval_interval 1 --eval_iters 2 --compile_ahead off
run one-ahead-on --max_iters 1 --eval_interval 1 --eval_iters 2 --compile_ahead on
