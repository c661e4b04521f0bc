"""Explore a trained GPT's attention in the browser: python scripts/explore.py --out_dir RUN --text "ROMEO: But soft" """

from jaxgpt.cli.explore import explore_main
from jaxgpt.cli.run import run

if __name__ == "__main__":
    run(explore_main, skip_teardown=True)
