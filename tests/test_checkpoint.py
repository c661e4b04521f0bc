"""Checkpoints are verified before they are used: every file of a checkpoint folder is deleted,
truncated and bit-flipped in turn, and each case ends in a fallback to the older checkpoint (with
one warning line) or in the right model, never in a wrong model, a traceback or orbax's noise."""

import json
import pathlib
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pytest
from runs import SMALL, small_run_config

from jaxgpt.training.devices.sharding import data_mesh
from jaxgpt.training.run.checkpoint import CheckpointError, Checkpoints
from jaxgpt.training.run.checksums import MANIFEST, ORBAX_RECORD, check_manifest
from jaxgpt.training.run.restore import abstract_state as gpt_state_of
from jaxgpt.training.run.restore import restore_model
from jaxgpt.training.train_gpt import train

pytestmark = pytest.mark.xdist_group("test_checkpoint")  # one worker builds the module's fixtures (conftest.py)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A finished run with two checkpoints, 10 and 20, and the parameters each holds."""
    out_dir = tmp_path_factory.mktemp("run") / "out"
    config = small_run_config(out_dir)
    train(config, SMALL, progress=False, echo=lambda *_: None)
    params = {step: restore_model(out_dir, step)[1] for step in (10, 20)}
    return out_dir, params


@pytest.fixture(scope="module")
def abstract_state(run):
    """The restore target, built once: what restore_model builds from a checkpoint's metadata."""
    out_dir, _ = run
    meta = Checkpoints(out_dir).restore(lambda meta: gpt_state_of(meta, data_mesh(), "gpt"), 20).meta
    target = gpt_state_of(meta, data_mesh(), "gpt")
    return lambda meta: target


def files_of(folder: pathlib.Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def damage(path: pathlib.Path, how: str) -> None:
    data = path.read_bytes()
    if how == "delete":
        path.unlink()
    elif how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    else:  # one bit, in the middle of the file
        flipped = bytearray(data)
        flipped[len(flipped) // 2] ^= 0b1000
        path.write_bytes(bytes(flipped))


def same_params(a, b) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)))


def test_every_checkpoint_file_is_covered_by_the_checksums(run):
    out_dir, _ = run
    listed = set(json.loads((out_dir / "20" / MANIFEST).read_text())["files"])
    # all but orbax's record of the save and the folder's commit marker, both written after the checksums
    assert set(files_of(out_dir / "20")) - listed == {MANIFEST, ORBAX_RECORD, "commit_success.txt"}
    assert any(name.startswith("state/") for name in listed) and "meta/metadata" in listed
    assert check_manifest(out_dir / "20") is True


@pytest.mark.parametrize("how", ["delete", "truncate", "flip"])
def test_a_damaged_newest_checkpoint_falls_back_or_loads_the_right_model(run, abstract_state, tmp_path, capfd, how):
    out_dir, params = run
    outcomes = {}
    for name in files_of(out_dir / "20"):
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(out_dir, copy)
        damage(copy / "20" / name, how)
        warnings = []
        restored = Checkpoints(copy, warn=warnings.append).restore(abstract_state, "latest")
        # never a wrong model: whatever loads is exactly the checkpoint it claims to be
        assert restored.meta["iter"] == restored.step and same_params(restored.state.params, params[restored.step])
        outcomes[name] = restored.step
        if restored.step == 10:
            assert len(warnings) == 1 and warnings[0].startswith(f"checkpoint 20 in {copy} is damaged ("), warnings
            assert warnings[0].endswith("using 10 instead")
    harmless = {ORBAX_RECORD, "commit_success.txt"}  # not needed to restore, and not covered by the checksums
    assert {name for name, step in outcomes.items() if step == 20} <= harmless
    assert {name for name, step in outcomes.items() if step == 10} == set(outcomes) - harmless
    assert len(outcomes) >= 14
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err and "orbax" not in (out + err).lower()  # nothing but our one-liners


def test_a_flipped_bit_in_the_weights_is_caught_by_the_checksums(run, tmp_path):
    out_dir, params = run
    shutil.copytree(out_dir, tmp_path / "out")
    folder = tmp_path / "out" / "20"
    arrays = [p for p in folder.rglob("*") if p.is_file() and "/d/" in p.as_posix()]
    biggest = max(arrays, key=lambda p: p.stat().st_size)  # the embedding, compressed
    damage(biggest, "flip")
    warnings = []
    _, loaded, _, meta = restore_model(tmp_path / "out", "latest", warn=warnings.append)
    assert meta["iter"] == 10 and same_params(loaded, params[10])
    assert "differs from its checksum" in warnings[0]


def test_no_usable_checkpoint_is_one_error_naming_each(run, tmp_path):
    out_dir, _ = run
    shutil.copytree(out_dir, tmp_path / "out")
    for step in ("10", "20"):
        damage(tmp_path / "out" / step / "meta" / "metadata", "truncate")
    with pytest.raises(CheckpointError) as error:
        restore_model(tmp_path / "out", "latest", warn=lambda _: None)
    message = str(error.value)
    assert message.startswith(f"no usable checkpoint in {tmp_path / 'out'} (20: meta/metadata has ")
    assert "; 10: meta/metadata has" in message and "\n" not in message


def test_a_checkpoint_asked_for_by_number_does_not_fall_back(run, tmp_path):
    out_dir, _ = run
    shutil.copytree(out_dir, tmp_path / "out")
    damage(tmp_path / "out" / "10" / "meta" / "metadata", "flip")
    with pytest.raises(CheckpointError, match=r"\(10: meta/metadata differs from its checksum\)"):
        restore_model(tmp_path / "out", 10, warn=lambda _: None)


def test_best_falls_back_to_the_next_best(tmp_path):
    checkpoints = Checkpoints(tmp_path, keep=3)
    for step, val_loss in [(10, 2.0), (20, 1.5), (30, 1.8)]:
        meta = {"iter": step, "val_loss": val_loss}
        checkpoints.save(step, {"w": jnp.full((2,), float(step))}, meta, val_loss=val_loss)
    checkpoints.wait()
    damage(tmp_path / "20" / "meta" / "metadata", "delete")
    warnings = []
    checkpoints.warn = warnings.append
    restored = checkpoints.restore(lambda meta: {"w": jax.ShapeDtypeStruct((2,), jnp.float32)}, "best")
    assert restored.step == 30 and restored.damaged == {20: "meta/metadata is missing"}  # 1.8 is next best
    assert warnings == [f"checkpoint 20 in {tmp_path} is damaged (meta/metadata is missing): using 30 instead"]


def test_checkpoints_written_before_checksums_load_with_a_warning(tmp_path):
    """An older jaxgpt wrote no checksum file and no format: such a checkpoint loads, unverified."""
    manager = ocp.CheckpointManager(tmp_path)
    state, meta = {"w": jnp.arange(3.0)}, {"iter": 5}
    manager.save(5, args=ocp.args.Composite(state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)))
    manager.wait_until_finished()
    manager.close()
    warnings = []
    restored = Checkpoints(tmp_path, warn=warnings.append).restore(
        lambda meta: {"w": jax.ShapeDtypeStruct((3,), jnp.float32)}
    )
    np.testing.assert_array_equal(restored.state["w"], [0.0, 1.0, 2.0])
    assert warnings == [f"checkpoint 5 in {tmp_path} has no checksums (an older jaxgpt wrote it): not verified"]
