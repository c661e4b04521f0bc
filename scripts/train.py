"""Train a GPT on tiny Shakespeare (or --data_file) with nanoGPT's flags: python scripts/train.py --help"""

from jaxgpt.cli.allocator import restart_with_fast_allocator  # the standard library only: imports in no time

if __name__ == "__main__":
    # first, before anything heavy is imported: it starts the script again (~30% faster CPU steps:
    # malloc keeps XLA's buffers), and what was imported before it would be imported twice
    restart_with_fast_allocator()
    from jaxgpt.cli.run import run
    from jaxgpt.cli.train import train_main

    run(train_main, skip_teardown=True)
