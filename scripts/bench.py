"""Benchmarks: train-step speed and MFU, generation tokens/s, optionally beside PyTorch.
python scripts/bench.py --help shows the flags and examples."""

import os

# JAX takes 75% of a GPU's memory at start by default; take it as needed, so PyTorch in the same
# process (--vs-torch) has room
os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")

from jaxgpt.cli.allocator import restart_with_fast_allocator  # noqa: E402 - after the memory setting

if __name__ == "__main__":
    restart_with_fast_allocator()  # time what users get: every script runs with it (first: see train.py)
    from jaxgpt.cli.bench import bench_main
    from jaxgpt.cli.run import run

    run(bench_main, skip_teardown=True)
