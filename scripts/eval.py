"""Evaluate a training run: python scripts/eval.py --out_dir out-shakespeare-char [--checkpoint best|latest|N]"""

from jaxgpt.cli.eval import eval_main
from jaxgpt.cli.run import run

if __name__ == "__main__":
    run(eval_main, skip_teardown=True)
