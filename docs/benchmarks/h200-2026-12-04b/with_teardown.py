"""scripts/train.py as it exited before 4 December's second session: through SystemExit, so with
the interpreter's teardown after the exit handlers. Run with GLIBC_TUNABLES already set (as
gpu_exit.sh does), so that train.py does not restart itself without this change."""

import runpy
import sys

import jaxgpt.cli.run

jaxgpt.cli.run.exit_without_teardown = sys.exit
sys.argv[0] = "scripts/train.py"
runpy.run_path("scripts/train.py", run_name="__main__")
