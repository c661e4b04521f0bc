"""Generate text from a trained checkpoint: python scripts/sample.py --out_dir out-shakespeare-char --start "ROMEO:" """

from jaxgpt.cli.allocator import restart_with_fast_allocator  # the standard library only: imports in no time

if __name__ == "__main__":
    restart_with_fast_allocator()  # first, before anything heavy is imported: see scripts/train.py
    from jaxgpt.cli.run import run
    from jaxgpt.cli.sample import sample_main

    run(sample_main, skip_teardown=True)
