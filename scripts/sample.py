"""Generate text from a trained checkpoint: python scripts/sample.py --out_dir out-shakespeare-char --start "ROMEO:" """

from jaxgpt.cli import run, sample_main

if __name__ == "__main__":
    run(sample_main)
