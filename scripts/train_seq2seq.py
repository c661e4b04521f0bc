"""Train the encoder-decoder Transformer on a synthetic task: python scripts/train_seq2seq.py --task reverse"""

from jaxgpt.cli import run, seq2seq_main

if __name__ == "__main__":
    run(seq2seq_main)
