"""A run folder holds one run: a second run never writes into it unless the first is moved aside,
evaluating writes nothing, and a resume leaves one history (metrics.jsonl, checkpoints) behind."""

import dataclasses
import errno
import hashlib
import json
import os
import pathlib
import shutil

import jax
import jax.numpy as jnp
import pytest
from runs import SMALL, small_run_config

from jaxgpt.errors import JaxgptError
from jaxgpt.training.logs.metrics_file import MetricsLog
from jaxgpt.training.run.checkpoint import Checkpoints
from jaxgpt.training.run.folder import RunDir, RunDirError
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.train_gpt import train

pytestmark = pytest.mark.xdist_group("test_run_dir")  # one worker builds the module's fixtures (conftest.py)

quiet = dict(progress=False, echo=lambda *_: None)


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A run trained to iteration 20, with checkpoints 10 and 20."""
    out_dir = tmp_path_factory.mktemp("finished") / "out"
    train(small_run_config(out_dir), SMALL, **quiet)
    return out_dir


@pytest.fixture
def run_copy(finished, tmp_path):
    shutil.copytree(finished, tmp_path / "out")
    return tmp_path / "out"


def fingerprint(folder) -> dict:
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_a_new_run_into_a_used_folder_stops_before_writing(run_copy):
    before = fingerprint(run_copy)
    bigger = dataclasses.replace(SMALL, n_layer=2)
    with pytest.raises(RunDirError, match="already holds a run .* --init_from resume to continue it"):
        train(small_run_config(run_copy), bigger, **quiet)
    assert fingerprint(run_copy) == before  # not one byte changed


def test_move_old_run_renames_the_old_folder_and_starts_afresh(run_copy):
    before = fingerprint(run_copy)
    said = []
    other_seed = small_run_config(run_copy, max_iters=10, seed=7)  # the same sizes: compiled already
    train(other_seed, SMALL, progress=False, echo=said.append, move_old_run=True)
    aside = run_copy.with_name("out.old-1")
    assert f"moved the old run in {run_copy} to {aside}" in said
    assert fingerprint(aside) == before  # the old run, whole, under its new name
    _, _, _, meta = restore_model(run_copy, "latest")
    assert meta["iter"] == 10 and meta["train"]["seed"] == 7
    assert json.loads((run_copy / "config.json").read_text())["train"]["seed"] == 7
    assert {r["iter"] for r in MetricsLog(run_copy).records()} == set(range(0, 11))


def test_evaluating_writes_nothing(run_copy):
    before = fingerprint(run_copy)
    result = train(small_run_config(run_copy, init_from="resume", eval_only=True), **quiet)
    assert set(result.last_losses) == {"train", "val"} and int(result.state.step) == 20
    assert fingerprint(run_copy) == before


def test_a_resume_keeps_one_history(run_copy):
    """A run killed after iteration 20's checkpoint, part way through logging iteration 24."""
    log = MetricsLog(run_copy)
    for step in range(21, 24):
        log.record(step, {"loss": 9.0, "lr": 1e-3})
    with log.path.open("a") as f:
        f.write('{"iter": 24, "lo')  # the last line, cut short
    result = train(small_run_config(run_copy, init_from="resume", max_iters=30), **quiet)
    steps = [r["iter"] for r in log.records() if "loss" in r]
    assert steps == list(range(1, 31)) and int(result.state.step) == 30
    assert all(r["loss"] != 9.0 for r in log.records() if "loss" in r)  # the dropped records are gone
    evaluations = [r["iter"] for r in log.records() if "val_loss" in r]
    assert evaluations == [0, 10, 20, 30]  # the restored iteration's evaluation is not repeated
    assert all(json.loads(line) for line in log.path.read_text().splitlines())  # no line cut short


def test_a_resume_sets_damaged_checkpoints_aside(run_copy, capsys):
    metadata = run_copy / "20" / "meta" / "metadata"
    metadata.write_text(metadata.read_text().replace('"iter": 20', '"iter": 21'))
    said = []
    result = train(small_run_config(run_copy, init_from="resume", max_iters=20), progress=False, echo=said.append)
    assert int(result.state.step) == 20  # from 10, again
    warning = f"warning: checkpoint 20 in {run_copy} is damaged (meta/metadata differs from its checksum): using 10"
    assert warning in capsys.readouterr().err
    assert (run_copy / "damaged-20" / "meta" / "metadata").read_text().count('"iter": 21') == 1  # kept, as found
    assert f"moved the damaged checkpoint to {run_copy / 'damaged-20'}" in said
    assert RunDir(run_copy).checkpoint_steps() == [10, 20]
    assert [r["iter"] for r in MetricsLog(run_copy).records() if "loss" in r] == list(range(1, 21))


def test_the_best_checkpoint_survives_a_resume_that_sets_the_best_aside(tmp_path):
    """keep=2: 10 (val 1.5), 20 (1.9), 30 (1.0, then damaged). After the fallback, 10 is the best."""
    checkpoints = Checkpoints(tmp_path, keep=2)
    for step, loss in [(10, 1.5), (20, 1.9), (30, 1.0)]:
        checkpoints.save(step, {"w": jnp.full((2,), float(step))}, {"iter": step, "val_loss": loss}, val_loss=loss)
    checkpoints.wait()
    assert checkpoints.steps() == [10, 20, 30]  # 10 is no longer among the last 2, but it was the best
    metadata = tmp_path / "30" / "meta" / "metadata"
    metadata.write_text(metadata.read_text().replace('"iter": 30', '"iter": 31'))
    restored = Checkpoints(tmp_path).restore(lambda meta: {"w": jax.ShapeDtypeStruct((2,), jnp.float32)})
    assert restored.step == 20
    RunDir(tmp_path).set_aside(restored.damaged)
    checkpoints = Checkpoints(tmp_path, keep=2)
    assert checkpoints.best_step() == 10
    for step, loss in [(30, 1.6), (40, 1.7), (50, 1.8)]:
        checkpoints.save(step, {"w": jnp.zeros((2,))}, {"iter": step, "val_loss": loss}, val_loss=loss)
    checkpoints.wait()
    assert checkpoints.steps() == [10, 40, 50] and (tmp_path / "damaged-30").is_dir()


def test_run_files_are_written_with_the_usual_permissions(finished):
    umask = os.umask(0)
    os.umask(umask)
    for name in ("config.json", "metrics.jsonl", "loss.png"):
        assert (finished / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


def test_a_full_disk_while_logging_is_one_line_that_says_how_to_go_on(tmp_path, monkeypatch):
    log = MetricsLog(tmp_path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pathlib.Path, "open", full)
    with pytest.raises(
        JaxgptError,
        match=r"could not write .*metrics.jsonl \(No space left on device\): free some disk space, .* resume",
    ):
        log.record(1, {"loss": 2.0})


def test_an_os_error_that_is_not_a_full_disk_names_its_own_cause(tmp_path, monkeypatch):
    log = MetricsLog(tmp_path)

    def not_empty(*args, **kwargs):
        raise OSError(errno.ENOTEMPTY, os.strerror(errno.ENOTEMPTY))

    monkeypatch.setattr(pathlib.Path, "open", not_empty)
    with pytest.raises(JaxgptError) as error:
        log.record(1, {"loss": 2.0})
    assert "Directory not empty" in str(error.value) and "disk space" not in str(error.value)
