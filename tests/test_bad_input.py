"""Every case of bad_input.py: one line on stderr, an exit code, no traceback, no folder left behind
and no folder it was given changed; and the README's table lists every case."""

import gzip
import json
import pathlib
import shutil

import pytest
from bad_input import BAD_INPUT
from cli_runs import ROOT, no_space_left, run_main

import jaxgpt.training.run.checkpoint as checkpoint_module
from jaxgpt.cli.bench import bench_main
from jaxgpt.cli.eval import eval_main
from jaxgpt.cli.explore import explore_main
from jaxgpt.cli.prepare import prepare_main
from jaxgpt.cli.sample import sample_main
from jaxgpt.cli.train import train_main
from jaxgpt.cli.train_seq2seq import seq2seq_main
from jaxgpt.data.dataset import Dataset

pytestmark = pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)

MAINS = {
    "train.py": train_main,
    "sample.py": sample_main,
    "train_seq2seq.py": seq2seq_main,
    "prepare.py": prepare_main,
    "bench.py": bench_main,
    "explore.py": explore_main,
    "eval.py": eval_main,
}


def fill_the_disk(monkeypatch):
    """Until the test ends, every checkpoint save finds the disk full (only a save writes checksums)."""

    def write_on_a_full_disk(folder):
        raise no_space_left(folder)

    monkeypatch.setattr(checkpoint_module, "write_manifest", write_on_a_full_disk)


# the bad input that is the machine's, not a flag's or a folder's: the case's own test fakes it
FAULTS = {"a disk that fills up during a save": fill_the_disk}


def fingerprint(folder: pathlib.Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def damage_every_checkpoint(run_dir: pathlib.Path, file_name: str, edit) -> None:
    for step in (10, 20, 30):
        path = next(p for p in sorted((run_dir / str(step)).rglob("*")) if p.is_file() and p.match(file_name))
        path.write_bytes(edit(path.read_bytes()))


@pytest.fixture
def folders(tmp_path, trained_run, shakespeare_path):
    """The folders and files the BAD_INPUT flags name; it builds them, and fakes nothing."""
    run_dir, _ = trained_run
    made = {"DATA": shakespeare_path, "MISSING": tmp_path / "missing", "EMPTY": tmp_path / "empty"}
    made["EMPTY"].mkdir()
    made["A_FILE"] = tmp_path / "a-file"
    made["A_FILE"].write_text("not a folder")
    made["SHORT"] = tmp_path / "short.txt"
    made["SHORT"].write_text("To be, or not to be: that is the question.\n" * 2)
    for name in ("RUN", "SEQ2SEQ_RUN", "NONSENSE_CONFIG", "EDITED_META", "DAMAGED", "NO_CONFIG", "RUN_AND_MORE"):
        made[name] = tmp_path / name.lower()
        shutil.copytree(run_dir, made[name])
    config = json.loads((made["SEQ2SEQ_RUN"] / "config.json").read_text())
    (made["SEQ2SEQ_RUN"] / "config.json").write_text(json.dumps({**config, "kind": "seq2seq"}))
    (made["NONSENSE_CONFIG"] / "config.json").write_text('{"model": [1, 2')
    damage_every_checkpoint(
        made["EDITED_META"], "meta/metadata", lambda data: data.replace(b'"n_layer": 1', b'"n_layer": 9')
    )
    damage_every_checkpoint(made["DAMAGED"], "state/ocdbt.process_0/d/*", lambda data: data[: len(data) // 2])
    (made["NO_CONFIG"] / "config.json").unlink()
    (made["RUN_AND_MORE"] / "notes.txt").write_text("the user's own")
    made["FOREIGN_CONFIG"] = tmp_path / "hf-model"
    made["FOREIGN_CONFIG"].mkdir()
    (made["FOREIGN_CONFIG"] / "config.json").write_text('{"architectures": ["GPT2LMHeadModel"]}')
    made["PREPARED"] = tmp_path / "prepared"
    Dataset.from_text("some text").save(made["PREPARED"])
    made["BAD_PREPARED"] = tmp_path / "bad-prepared"
    shutil.copytree(made["PREPARED"], made["BAD_PREPARED"])
    (made["BAD_PREPARED"] / "meta.json").write_text('{"dtype": ')
    made["BINARY"] = tmp_path / "prompt.bin"
    made["BINARY"].write_bytes(b"\xff\xfe\xfa")
    made["DISK_FULL"] = tmp_path / "disk-full"
    made["NO_FIELD"] = tmp_path / "docs.jsonl"
    made["NO_FIELD"].write_text('{"text": "a document"}\n{"body": "another"}\n')
    made["TRUNCATED"] = tmp_path / "docs.txt.gz"
    made["TRUNCATED"].write_bytes(gzip.compress(b"To be, or not to be. " * 2000)[:-100])
    return made


@pytest.mark.parametrize("script,what,argv,message,code", BAD_INPUT, ids=[f"{s}: {w}" for s, w, *_ in BAD_INPUT])
def test_bad_input_is_one_line_and_an_exit_code_and_changes_no_folder(
    monkeypatch, capsys, folders, script, what, argv, message, code
):
    if what in FAULTS:
        FAULTS[what](monkeypatch)
    raw_argv, argv = argv, [arg.format_map(folders) for arg in argv]
    if script in ("train.py", "train_seq2seq.py") and not any(arg.startswith("--out_dir") for arg in argv):
        argv.append(f"--out_dir={folders['MISSING']}")
    given = [pathlib.Path(path) for name, path in folders.items() if "{" + name + "}" in " ".join(raw_argv)]
    before = {path: fingerprint(path) for path in given if path.is_dir() and path != folders["DISK_FULL"]}
    exit_code, line = run_main(monkeypatch, capsys, MAINS[script], *argv, script=script)
    message = message.format_map(folders)  # the file named in the message
    assert exit_code == code and line.startswith(f"{script}: error: ") and message in line, line
    assert not folders["MISSING"].exists()  # a failed start leaves no folder behind
    assert {path: fingerprint(path) for path in before} == before  # and changes no folder it was given


def test_every_fault_is_a_case_of_the_table():
    assert set(FAULTS) <= {what for _, what, *_ in BAD_INPUT}


def test_the_readme_lists_every_bad_input():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Bad input", 1)[1].split("\n## ", 1)[0]
    missing = [f"{script}: {what}" for script, what, *_ in BAD_INPUT if f"| {what} |" not in table]
    assert not missing, missing
