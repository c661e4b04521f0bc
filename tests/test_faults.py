"""SIGKILL at any moment loses at most the work since the last complete checkpoint. One training run
is killed at ten moments in turn (inside a train step, an evaluation, a save, the checksums, the
rename of a finished checkpoint, a line of metrics.jsonl, loss.png, the resume's rewrite of the
history, the restore, the save that Ctrl-C asks for), resumed after each kill, and
ends with bitwise the weights and per-step losses of the same run never interrupted."""

import random
import subprocess
import sys

from runs import ROOT, assert_same_run, flags, reference_run, resumed_to_the_end

from jaxgpt.training.run.checksums import check_manifest
from jaxgpt.training.run.folder import RunDir

END = 100
RUN_FLAGS = dict(eval_interval=4, always_save_checkpoint=True, max_iters=END)


def kill_plan(seed: int) -> list[tuple[str, int]]:
    """(moment, on which occurrence to die): the occurrences are drawn from the seed."""
    rng = random.Random(seed)
    return [
        ("save", 2),  # the first run: its first checkpoint (iteration 4) is complete, its second is not
        ("restore", 1),  # the moments of a resume
        ("history-rewrite", 1),
        ("train-step", rng.randint(2, 6)),  # the moments of training
        ("evaluation", rng.randint(1, 4)),
        ("metrics-line", rng.randint(2, 9)),
        ("loss-png", 1),  # the resumed run redraws loss.png from the history it kept
        ("checksums", rng.randint(1, 3)),
        ("rename", rng.randint(1, 3)),
        ("ctrl-c-save", rng.randint(2, 6)),
    ]


def test_a_run_killed_at_ten_moments_ends_as_if_never_killed(tmp_path):
    out_dir = tmp_path / "out"
    args = flags(out_dir=out_dir, **RUN_FLAGS)
    for i, (moment, n) in enumerate(kill_plan(seed=11)):
        resume = [] if i == 0 else ["--init_from=resume"]
        command = [sys.executable, str(ROOT / "tests" / "inject_fault.py"), moment, str(n), *args, *resume]
        killed = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -9, f"{moment}: not killed ({killed.returncode}): {killed.stderr[-2000:]}"
        # what the kill left: checkpoints that all verify, the newest to resume from
        steps = RunDir(out_dir).checkpoint_steps()
        assert steps and all(check_manifest(out_dir / str(step)) for step in steps), moment
    # the last resume runs to the end (in this process: the script would also sample, which is not the point)
    resumed_to_the_end(out_dir, **RUN_FLAGS)
    reference = reference_run(tmp_path / "straight", **RUN_FLAGS)
    assert_same_run(out_dir, tmp_path / "straight", reference.state.params)
