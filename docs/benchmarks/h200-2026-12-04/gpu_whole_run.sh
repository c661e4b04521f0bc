set -u
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
O=${OUT:-/tmp/gpu-whole}; mkdir -p $O
python3 -c "import tensorboardX" 2>/dev/null || python3 -m pip install -q --no-deps out-nanogpt/wheels/*.whl 2>&1 | grep -v WARNING; python3 -c "import tensorboardX; print(\"tensorboardX\", tensorboardX.__version__)"
echo "== jaxgpt cold $(date +%T)" | tee $O/log.txt
rm -rf ~/.cache/jaxgpt/jit /tmp/sc; mkdir -p ~/.cache/jaxgpt
s=$(date +%s.%N)
timeout 200 python3 scripts/train.py --preset shakespeare-char --data_file tests/data/tinyshakespeare.txt --max_iters 2000 --lr_decay_iters 2000 --out_dir /tmp/sc > $O/jaxgpt-cold.txt 2>$O/jaxgpt-cold-progress.txt
echo "jaxgpt cold exit $? wall $(python3 -c "import time; print(round(time.time() - $s, 1))")" | tee -a $O/log.txt
grep -a "first step\|iterations in\|best val" $O/jaxgpt-cold.txt $O/jaxgpt-cold-progress.txt | tr '\r' '\n' | grep -a "first step\|iterations\|best" | tail -3
cp /tmp/sc/metrics.jsonl $O/jaxgpt-metrics.jsonl 2>/dev/null
echo "== nanoGPT $(date +%T)" | tee -a $O/log.txt
cd out-nanogpt && sed -i "s|^src = .*|src = '../tests/data/tinyshakespeare.txt'|" prepare_shakespeare_char.py && python3 prepare_shakespeare_char.py > /dev/null
rm -rf out-shakespeare-char /tmp/torchinductor_* ~/.triton/cache
s=$(date +%s.%N)
timeout 220 python3 train.py config/train_shakespeare_char.py --max_iters=2000 --lr_decay_iters=2000 > $O/nanogpt.txt 2>&1
echo "nanoGPT exit $? wall $(python3 -c "import time; print(round(time.time() - $s, 1))")" | tee -a $O/log.txt
tail -3 $O/nanogpt.txt
grep "^step" $O/nanogpt.txt | tail -2
