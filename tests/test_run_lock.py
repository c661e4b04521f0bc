"""A run folder is held by one run (jaxgpt/training/run/lock.py): a second run, resume or
--move_old_run on a held folder stops before writing anything, naming the holder; the lock dies
with its process, however it dies; two real training processes started together leave one run."""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import sys

import pytest
from cli_runs import ROOT, TINY_FLAGS

from jaxgpt.cli.eval import eval_main
from jaxgpt.cli.run import run
from jaxgpt.cli.sample import sample_main
from jaxgpt.cli.train import train_main
from jaxgpt.cli.train_seq2seq import seq2seq_main
from jaxgpt.training.run.lock import LOCK_FILE, FolderHeld, RunLock

HOLD = (
    "import sys; from jaxgpt.training.run.lock import RunLock; lock = RunLock(sys.argv[1]); lock.acquire(); "
    "print('held', flush=True); sys.stdin.read()"
)


def hold(folder):
    """Another process holding the lock on `folder`, once it says so."""
    process = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(folder)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().strip() == "held"
    return process


@pytest.fixture(scope="module")
def holder(tmp_path_factory):
    """(folder, process): another process holding the lock on a folder for the module's tests, which
    only try to take it (and check that nothing changed)."""
    folder = tmp_path_factory.mktemp("held") / "run"
    process = hold(folder)
    yield folder, process
    process.kill()
    process.wait()


def test_a_held_folder_is_refused_naming_the_holder(holder):
    folder, process = holder
    with pytest.raises(FolderHeld) as error:
        RunLock(folder).acquire()
    message = str(error.value)
    assert f"pid {process.pid} on {socket.gethostname()} since " in message
    assert "\n" not in message and "another --out_dir" in message
    note = json.loads((folder / LOCK_FILE).read_text())
    assert note["pid"] == process.pid


def test_the_lock_dies_with_its_process_even_by_sigkill(tmp_path):
    folder = tmp_path / "run"
    process = hold(folder)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert (folder / LOCK_FILE).exists()  # the note stays, and means nothing: the OS released the lock
    lock = RunLock(folder)
    lock.acquire()
    assert json.loads((folder / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (folder / LOCK_FILE).exists()


def test_a_folder_made_for_the_lock_goes_when_released_empty(tmp_path):
    lock = RunLock(tmp_path / "a" / "b")
    lock.acquire()
    assert (tmp_path / "a" / "b" / LOCK_FILE).is_file()
    lock.release()
    assert list(tmp_path.iterdir()) == []  # a run that failed to start leaves nothing behind


def test_a_started_runs_folder_stays_when_released(tmp_path):
    lock = RunLock(tmp_path / "run")
    lock.acquire()
    (tmp_path / "run" / "config.json").write_text("{}")
    lock.release()
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["config.json"]


def train(*args):
    return subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "train.py"), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.mark.parametrize(
    "main, flags",
    [(train_main, ["--init_from=resume"]), (train_main, ["--move_old_run=True"]), (train_main, []), (seq2seq_main, [])],
    ids=["resume", "move_old_run", "new run", "seq2seq"],
)
def test_a_held_folder_refuses_resume_move_and_new_runs_with_exit_2(
    holder, shakespeare_path, monkeypatch, capsys, main, flags
):
    folder, process = holder
    before = sorted(p.name for p in folder.iterdir())
    data = [f"--data_file={shakespeare_path}", *TINY_FLAGS] if main is train_main else []
    monkeypatch.setattr(sys, "argv", ["train.py", f"--out_dir={folder}", "--max_iters=2", *data, *flags])
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    stderr = capsys.readouterr().err.strip()
    assert exit_info.value.code == 2, stderr
    assert stderr.count("\n") == 0 and f"is in use by another run (pid {process.pid} on " in stderr
    assert sorted(p.name for p in folder.iterdir()) == before


def test_two_runs_started_together_leave_one_run(tmp_path, shakespeare_path):
    out_dir = tmp_path / "out"
    common = [f"--data_file={shakespeare_path}", f"--out_dir={out_dir}", "--max_iters=40", "--eval_interval=20"]
    runs = {seed: train(*common, *TINY_FLAGS, f"--seed={seed}") for seed in (1, 2)}
    outcomes = {seed: (run.wait(timeout=300), *run.communicate()) for seed, run in runs.items()}
    codes = sorted(code for code, _, _ in outcomes.values())
    assert codes == [0, 2], {seed: (code, err[-500:]) for seed, (code, _, err) in outcomes.items()}
    winner = next(seed for seed, (code, _, _) in outcomes.items() if code == 0)
    loser = next(seed for seed in runs if seed != winner)
    loser_err = outcomes[loser][2].strip()
    assert loser_err.count("\n") == 0 and f"pid {runs[winner].pid} on " in loser_err, loser_err
    # the folder describes one run: the winner's config, one history, the winner's checkpoints
    assert json.loads((out_dir / "config.json").read_text())["train"]["seed"] == winner
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    evaluations = [r["iter"] for r in records if "val_loss" in r]
    assert evaluations == [0, 20, 40]
    steps = [r["iter"] for r in records if "loss" in r]
    assert steps == sorted(set(steps)) and steps[-1] == 40
    for step in (20, 40):
        meta = json.loads((out_dir / str(step) / "meta" / "metadata").read_text())
        assert meta["train"]["seed"] == winner
    assert not (out_dir / LOCK_FILE).exists()  # released at the end


@pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)
def test_sample_and_eval_read_a_held_folder(trained_run, tmp_path, monkeypatch, capsys):
    folder = tmp_path / "out"
    shutil.copytree(trained_run[0], folder)
    process = hold(folder)  # as if a run were still training there
    try:
        for main, argv in [(sample_main, ["--max_new_tokens=5", "--num_samples=1"]), (eval_main, [])]:
            monkeypatch.setattr(sys, "argv", ["script.py", f"--out_dir={folder}", *argv])
            with pytest.raises(SystemExit) as exit_info:
                run(main)
            assert exit_info.value.code == 0, capsys.readouterr().err
        assert "val" in capsys.readouterr().out
    finally:
        process.kill()
        process.wait()


def test_a_folder_another_run_made_a_moment_ago_is_used_and_kept(tmp_path, monkeypatch):
    made_by_the_other_run = pathlib.Path.mkdir

    def other_run_first(self, *args, **kwargs):  # between our look and our mkdir, the other run made it
        made_by_the_other_run(self, *args, **kwargs)
        raise FileExistsError(self)

    monkeypatch.setattr(pathlib.Path, "mkdir", other_run_first)
    lock = RunLock(tmp_path / "run")
    lock.acquire()
    lock.release()
    assert (tmp_path / "run").is_dir()  # not ours to remove
