"""Train the encoder-decoder Transformer on a synthetic task: python scripts/train_seq2seq.py --task reverse"""

from jaxgpt.cli.allocator import restart_with_fast_allocator  # the standard library only: imports in no time

if __name__ == "__main__":
    restart_with_fast_allocator()  # first, before anything heavy is imported: see scripts/train.py
    from jaxgpt.cli.run import run
    from jaxgpt.cli.train_seq2seq import seq2seq_main

    run(seq2seq_main, skip_teardown=True)
