# One iteration of shakespeare-char on the GPU, command to exit: cold once, then warm runs with
# the exit as committed (without the interpreter's teardown) and as before (with_teardown.py),
# in turns. Run from the repository root; the wheels (tensorboardX, crc32c) are carried in
# out-wheels/ for a device without them.
set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
export GLIBC_TUNABLES=glibc.malloc.mmap_threshold=4294967295:glibc.malloc.trim_threshold=4294967295
O=${OUT:-/tmp/gpu-exit}; mkdir -p $O
python3 -c "import tensorboardX, crc32c" 2>/dev/null || python3 -m pip install -q --no-index --find-links out-wheels tensorboardX crc32c 2>&1 | grep -v WARNING
python3 -c "import sys, jax, flax, tensorboardX, crc32c; print('python', sys.version.split()[0], 'jax', jax.__version__, 'flax', flax.__version__, jax.devices())" | tee $O/env.txt
one() {  # name, script: one iteration, command to exit
  local name=$1 script=$2
  rm -rf /tmp/sc
  local s=$(date +%s.%N)
  timeout 200 python3 $script --preset shakespeare-char --data_file tests/data/tinyshakespeare.txt --out_dir /tmp/sc \
    --max_iters 1 --eval_interval 1 --eval_iters 2 > $O/$name.txt 2>$O/$name-progress.txt
  local rc=$?
  echo "$name exit $rc wall $(python3 -c "import time; print(round(time.time() - $s, 2))") s $(grep -ao 'first step done [0-9.]* s' $O/$name.txt)" | tee -a $O/log.txt
}
rm -rf ~/.cache/jaxgpt/jit
one cold scripts/train.py
for i in 1 2 3; do
  one warm-now-$i scripts/train.py
  one warm-with-teardown-$i docs/benchmarks/h200-2026-12-04b/with_teardown.py
done
ls /tmp/sc
