"""The fixed cost of a step: a 1-layer, 32-wide model (block 32, batch 4), the real training loop
(time_training_loop: its median and fastest log window) beside the bare jitted step, twice.
    PYTHONPATH=. python docs/benchmarks/cpu-2026-11-28/tiny_loop.py [log_interval]"""

import sys

from jaxgpt.benchmark.timing import time_train_step, time_training_loop
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.config import TrainConfig

mc = GPTConfig(block_size=32, vocab_size=65, n_layer=1, n_head=2, n_embd=32, dropout=0.0, bias=False)
tc = TrainConfig(
    batch_size=4, log_interval=int(sys.argv[1]) if len(sys.argv) > 1 else 10, warmup_iters=10, learning_rate=1e-3
)
for _ in range(2):
    print(
        "bare",
        round(time_train_step(mc, tc, iters=200, repeats=5)["ms_per_iter"], 3),
        "loop",
        {k: round(v, 3) for k, v in time_training_loop(mc, tc, iters=2000).items()},
        flush=True,
    )
