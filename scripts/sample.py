"""Generate text from a trained checkpoint: python scripts/sample.py --out_dir out-shakespeare-char --start "ROMEO:" """

from jaxgpt.cli.allocator import restart_with_fast_allocator
from jaxgpt.cli.run import run
from jaxgpt.cli.sample import sample_main

if __name__ == "__main__":
    restart_with_fast_allocator()  # ~30% faster CPU steps: malloc keeps XLA's buffers
    run(sample_main)
