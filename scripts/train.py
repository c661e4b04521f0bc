"""Train a GPT on tiny Shakespeare (or --data_file) with nanoGPT's flags: python scripts/train.py --help"""

from jaxgpt.cli import run, train_main

if __name__ == "__main__":
    run(train_main)
