#!/usr/bin/env bash
# 8 seeds of the README's default CPU run, jaxgpt and the PyTorch nanoGPT-style loop, one after the other:
#   bash docs/benchmarks/seeds-2026-11-28/run_seeds.sh [first seed] [last seed]  (from the repository root)
# SIDES="jaxgpt pytorch" by default; name one to run only that side.
set -u
SIDES=${SIDES:-jaxgpt pytorch}
HERE=docs/benchmarks/seeds-2026-11-28
for seed in $(seq ${1:-1} ${2:-8}); do
  if [[ $SIDES == *jaxgpt* ]]; then
  rm -rf /tmp/seeds/jax-$seed
  python scripts/train.py --seed $seed --data_file tests/data/tinyshakespeare.txt --out_dir /tmp/seeds/jax-$seed \
    2>/dev/null | grep -E "^step 2000|iterations in" | sed "s/^/jaxgpt seed $seed: /"
  PYTHONPATH=. python $HERE/whole_split_jaxgpt.py /tmp/seeds/jax-$seed 2>/dev/null | sed "s/^/jaxgpt seed $seed: /"
  fi
  [[ $SIDES == *pytorch* ]] && PYTHONPATH=. python $HERE/torch_run.py $seed 2>/dev/null | grep -E "^step 2000|whole|PyTorch:" | sed "s/^/pytorch seed $seed: /"
done
