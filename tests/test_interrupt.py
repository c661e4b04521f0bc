"""Ctrl-C (SIGINT) and SIGTERM stop scripts/train.py with a checkpoint of the step it was at and one
line saying how to resume; resuming gives bitwise the weights and losses of an uninterrupted run."""

import re

from runs import ROOT, assert_same_run, flags, reference_run, resumed_to_the_end, start, wait_for_step

STOPPED = re.compile(
    r"train\.py: stopped by (SIGINT|SIGTERM) at iteration (\d+), saved in (.+): "
    r"run the same command with --init_from resume to continue"
)


def stop_with(process, signal_number):
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=120)
    last = stderr.strip().splitlines()[-1]
    return process.returncode, STOPPED.fullmatch(last), stderr


def test_ctrl_c_and_sigterm_save_and_resume_exactly(tmp_path):
    out_dir = tmp_path / "out"
    endless = flags(out_dir=out_dir, eval_interval=25, max_iters=100_000)
    first = start(ROOT / "scripts" / "train.py", *endless)
    wait_for_step(first, out_dir, 30)
    code, stopped, stderr = stop_with(first, 2)  # SIGINT, as Ctrl-C sends
    assert code == 130 and stopped and stopped[1] == "SIGINT", stderr[-2000:]
    assert "Traceback" not in stderr
    interrupted_at = int(stopped[2])
    assert (out_dir / str(interrupted_at)).is_dir()  # a checkpoint of that very step

    second = start(ROOT / "scripts" / "train.py", *endless, "--init_from=resume")
    wait_for_step(second, out_dir, interrupted_at + 20)
    code, stopped, stderr = stop_with(second, 15)  # SIGTERM, as a preempted VM or a scheduler sends
    assert code == 143 and stopped and stopped[1] == "SIGTERM", stderr[-2000:]
    terminated_at = int(stopped[2])
    assert terminated_at > interrupted_at and (out_dir / str(terminated_at)).is_dir()

    end = terminated_at + 10
    resumed_to_the_end(out_dir, eval_interval=25, max_iters=end)  # in this process: the script would sample too
    reference = reference_run(tmp_path / "straight", eval_interval=25, max_iters=end)
    assert_same_run(out_dir, tmp_path / "straight", reference.state.params)
