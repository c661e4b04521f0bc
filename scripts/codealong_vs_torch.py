"""The code-along's stages in jaxgpt and in the video's PyTorch code, side by side: same settings,
batches and initial weights. python scripts/codealong_vs_torch.py --help shows the flags."""

from jaxgpt.cli.codealong import codealong_main
from jaxgpt.cli.run import run

if __name__ == "__main__":
    run(codealong_main, skip_teardown=True)
