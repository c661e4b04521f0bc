"""scripts/train.py and scripts/sample.py: a real run end to end, and one-line errors for bad input."""

import errno
import json
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

import jax
import pytest

import jaxgpt.training.checkpoint as checkpoint_module
from jaxgpt.cli.bench import bench_main
from jaxgpt.cli.eval import eval_main
from jaxgpt.cli.explore import explore_main
from jaxgpt.cli.prepare import prepare_main
from jaxgpt.cli.run import run
from jaxgpt.cli.sample import sample_main
from jaxgpt.cli.train import train_main
from jaxgpt.cli.train_seq2seq import seq2seq_main
from jaxgpt.training.checksums import write_manifest
from jaxgpt.training.data import Dataset
from jaxgpt.training.restore import restore_model

pytestmark = pytest.mark.xdist_group("test_cli")  # one worker builds the module's fixtures (conftest.py)

ROOT = pathlib.Path(__file__).resolve().parents[1]
TINY_FLAGS = ["--n_layer=1", "--n_head=2", "--n_embd=32", "--block_size=32", "--batch_size=4", "--eval_iters=2"]


def script(name, *args):
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory, shakespeare_path):
    out_dir = tmp_path_factory.mktemp("run") / "out"
    result = script(
        "train.py",
        f"--data_file={shakespeare_path}",
        "--out_dir",
        str(out_dir),
        "--max_iters=30",
        "--eval_interval=10",
        "--log_interval=5",
        *TINY_FLAGS,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return out_dir, result


def test_training_writes_config_metrics_curve_and_prints_a_sample(trained_run):
    out_dir, result = trained_run
    assert "no --preset given: training shakespeare-char-cpu" in result.stdout
    assert "step 30: train loss" in result.stdout and "30/30" in result.stderr  # the bar is on stderr
    config = json.loads((out_dir / "config.json").read_text())
    assert (
        config["model"]["n_embd"] == 32 and config["model"]["vocab_size"] == 65 and config["train"]["max_iters"] == 30
    )
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    steps = [r for r in records if "loss" in r]
    evaluations = [r for r in records if "val_loss" in r]
    assert [r["iter"] for r in steps] == [5, 10, 15, 20, 25, 30]
    assert [r["iter"] for r in evaluations] == [0, 10, 20, 30]
    assert {"iter", "loss", "lr", "grad_norm", "ms_per_iter", "tokens_per_sec", "mfu"} <= set(steps[0])
    assert all(0 < r["grad_norm"] < 100 for r in steps)  # the global norm before clipping, a real number
    # the same scalars in TensorBoard, read back with TensorBoard's own reader, and the closing sample
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(out_dir / "tensorboard"), size_guidance={"scalars": 0, "tensors": 0})
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [r["iter"] for r in steps]
    assert [e.step for e in events.Scalars("eval/val_loss")] == [r["iter"] for r in evaluations]
    assert {"train/learning_rate", "train/grad_norm", "train/param_norm", "speed/tokens_per_sec", "speed/mfu"} <= set(
        events.Tags()["scalars"]
    )
    sample = events.Tensors("sample/text_summary")[0]
    assert sample.step == 30 and len(sample.tensor_proto.string_val[0]) > 100
    assert {"iter", "train_loss", "val_loss", "lr"} <= set(evaluations[1])
    assert evaluations[-1]["val_loss"] < evaluations[0]["val_loss"]
    assert (out_dir / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "best val loss" in result.stdout and len(result.stdout.split("---------------")[-1].strip()) > 100


def test_sampling_is_seeded_and_reads_prompt_files(trained_run, tmp_path):
    out_dir, _ = trained_run
    args = ["--out_dir", str(out_dir), "--num_samples=2", "--max_new_tokens=40", "--seed=7"]
    first = script("sample.py", *args, "--start", "ROMEO:")
    assert first.returncode == 0, first.stderr[-2000:]
    header, body = first.stdout.split("\n", 1)
    assert header.startswith("sampling from iteration 30 of")  # "best" is the last: val loss fell each time
    samples = body.split("---------------")[:2]
    assert all(sample.strip().startswith("ROMEO:") for sample in samples) and samples[0] != samples[1]
    prompt = tmp_path / "prompt.txt"
    prompt.write_text("ROMEO:")
    from_file = script("sample.py", *args, "--start", f"FILE:{prompt}")
    assert from_file.stdout == first.stdout  # same seed, same prompt: same text


def test_sampling_in_bfloat16_hands_bfloat16_weights_to_generate(trained_run, monkeypatch, capsys):
    import jax.numpy as jnp

    import jaxgpt.cli.sample as sample

    out_dir, _ = trained_run
    dtypes = []

    def recording_generate(model, params, *args, **kwargs):
        dtypes.extend({leaf.dtype for leaf in jax.tree.leaves(params)})
        return real_generate(model, params, *args, **kwargs)

    real_generate = sample.generate
    monkeypatch.setattr(sample, "generate", recording_generate)
    args = ["--out_dir", str(out_dir), "--num_samples=1", "--max_new_tokens=20", "--start=ROMEO:"]
    assert sample_main([*args, "--dtype=bfloat16"]) == 0
    header, text = capsys.readouterr().out.split("\n", 1)
    assert header.endswith(", weights in bfloat16") and text.startswith("ROMEO:") and len(text) > len("ROMEO:") + 10
    assert dtypes == [jnp.bfloat16]


def test_errors_from_the_real_script_are_one_line_without_traceback(tmp_path):
    result = script("sample.py", "--out_dir", str(tmp_path / "nowhere"))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sample.py: error: {tmp_path / 'nowhere'} does not exist: train first, or pass the --out_dir of a training run"
    ]


def run_main(monkeypatch, capsys, main, *argv, script="train.py"):
    """(exit code, the one line it said) of a script's main run as the script runs it; a progress
    bar (a training run that got going) may come before the line, nothing else."""
    monkeypatch.setattr(sys, "argv", [script, *argv])
    with pytest.raises(SystemExit) as exit_info:
        run(main)
    lines = [line for line in re.split(r"[\r\n]", capsys.readouterr().err) if line.strip()]
    assert lines and not any(re.search(r"\d+/\d+ \[", line) is None for line in lines[:-1]), lines
    return exit_info.value.code, lines[-1]


MAINS = {
    "train.py": train_main,
    "sample.py": sample_main,
    "train_seq2seq.py": seq2seq_main,
    "prepare.py": prepare_main,
    "bench.py": bench_main,
    "explore.py": explore_main,
    "eval.py": eval_main,
}

# Every bad input: (script, what is wrong, flags, the error's words, exit code). The README's table
# "Bad input" lists each `what`. The {FOLDERS} are made by `folders` below; {RUN} is a copy of a
# finished GPT run (iterations 10, 20, 30), and the others are copies of it changed as named.
BAD_INPUT = [
    ("train.py", "an unknown flag", ["--bogus=1"], "unrecognized arguments: --bogus=1", 2),
    ("train.py", "a value of the wrong type", ["--n_layer=two"], "argument --n_layer: invalid int value: 'two'", 2),
    ("train.py", "a boolean that is not True or False", ["--bias=maybe"], "expected True or False, got 'maybe'", 2),
    ("train.py", "an unknown preset", ["--preset=gpt5"], "argument --preset: invalid choice: 'gpt5'", 2),
    ("train.py", "a value outside a flag's choices", ["--dtype=float64"], "argument --dtype: invalid choice", 2),
    ("train.py", "a profile that is not START:STOP", ["--profile=20"], "profile='20' must be START:STOP", 2),
    ("eval.py", "a run folder that does not exist", ["--out_dir={MISSING}"], "does not exist: train first", 2),
    ("eval.py", "no windows per batch", ["--out_dir={RUN}", "--batch_size=0"], "--batch_size=0 must be >= 1", 2),
    ("explore.py", "an empty text to explore", ["--out_dir={RUN}", "--text="], "--text is empty", 2),
    (
        "explore.py",
        "an output file that explore.py did not write",
        ["--out_dir={RUN}", "--output={A_FILE}"],
        "exists and is not a page explore.py wrote: choose another --output",
        2,
    ),
    (
        "explore.py",
        "text the model's vocabulary lacks",
        ["--out_dir={RUN}", "--text=ROMEO \u00e9"],
        "outside the tokenizer's",
        2,
    ),
    (
        "bench.py",
        "a profile of training that is not timed",
        ["--profile=5:8", "--skip_training"],
        "--profile 5:8 traces training steps, but --skip_training times none",
        2,
    ),
    (
        "train.py",
        "a prepared folder whose meta.json is damaged",
        ["--dataset={BAD_PREPARED}"],
        "is not readable prepared data (JSONDecodeError",
        2,
    ),
    (
        "train.py",
        "a model that does not fit together",
        ["--n_embd=100", "--n_head=3"],
        "n_embd=100 is not divisible by n_head=3",
        2,
    ),
    ("train.py", "a number out of range", ["--learning_rate=-1"], "learning_rate=-1.0 must be > 0", 2),
    (
        "train.py",
        "a data file that does not exist",
        ["--data_file=/no/such.txt"],
        "data file /no/such.txt does not exist",
        2,
    ),
    ("train.py", "an unknown dataset", ["--dataset=wikitext"], "dataset='wikitext' is not one of", 2),
    (
        "train.py",
        "weights that do not exist",
        ["--init_from=/no/gpt2"],
        "init_from='/no/gpt2' is not scratch, resume",
        2,
    ),
    (
        "train.py",
        "a batch the devices do not divide",
        ["--batch_size=3", "--data_file={DATA}"],
        "batch_size=3 is not divisible by the 2 devices",
        2,
    ),
    (
        "train.py",
        "a mesh larger than the machine",
        ["--mesh=data=3", "--data_file={DATA}"],
        "--mesh 'data=3' needs 3 devices, but 2 are present",
        2,
    ),
    (
        "train.py",
        "a mesh in the wrong format",
        ["--mesh=model=2", "--data_file={DATA}"],
        "write it as data=N or data=N,fsdp=M",
        2,
    ),
    (
        "train.py",
        "a context longer than the data",
        ["--data_file={SHORT}", "--block_size=64"],
        "too few for block_size=64",
        2,
    ),
    ("train.py", "out_dir is a file", ["--data_file={DATA}", "--out_dir={A_FILE}"], "is a file, not a folder", 2),
    ("train.py", "out_dir is under a file", ["--data_file={DATA}", "--out_dir={A_FILE}/run"], "is under", 2),
    ("train.py", "out_dir is not writable", ["--data_file={DATA}", "--out_dir=/proc/jaxgpt-run"], "is not writable", 2),
    (
        "train.py",
        "out_dir holds another run",
        ["--data_file={DATA}", "--out_dir={RUN}"],
        "already holds a run (config.json, metrics.jsonl, loss.png, tensorboard, checkpoints 10, 20, 30): pass --init_from resume to continue it, another --out_dir, or --move_old_run True",
        2,
    ),
    (
        "train.py",
        "out_dir holds a config.json jaxgpt did not write",
        ["--data_file={DATA}", "--out_dir={FOREIGN_CONFIG}"],
        "holds a config.json that is not a jaxgpt run's: choose another --out_dir",
        2,
    ),
    (
        "train.py",
        "--move_old_run where the run's folder holds other files too",
        ["--data_file={DATA}", "--out_dir={RUN_AND_MORE}", "--move_old_run=True"],
        "also holds files that are not the run's (notes.txt): move them out first",
        2,
    ),
    (
        "train.py",
        "resume with another optimizer",
        ["--init_from=resume", "--out_dir={RUN}", "--max_iters=40", "--grad_clip=0"],
        "the optimizer settings differ from those the checkpoint in",
        2,
    ),
    (
        "train.py",
        "resume from a folder that does not exist",
        ["--init_from=resume", "--out_dir={MISSING}"],
        "does not exist; train first, or fix --out_dir",
        2,
    ),
    (
        "train.py",
        "resume from a folder without checkpoints",
        ["--init_from=resume", "--out_dir={EMPTY}"],
        "--init_from resume: no checkpoint in",
        2,
    ),
    (
        "train.py",
        "resume a finished run",
        ["--init_from=resume", "--out_dir={RUN}", "--max_iters=30"],
        "is already at iteration 30, max_iters=30: raise --max_iters to continue",
        2,
    ),
    (
        "train.py",
        "resume a run of the other kind",
        ["--init_from=resume", "--out_dir={SEQ2SEQ_RUN}"],
        "holds an encoder-decoder (seq2seq) run, not a GPT run: resume it with scripts/train_seq2seq.py",
        2,
    ),
    (
        "train.py",
        "a config.json edited into nonsense",
        ["--init_from=resume", "--out_dir={NONSENSE_CONFIG}", "--max_iters=40"],
        "config.json is not a jaxgpt run's config",
        2,
    ),
    (
        "train.py",
        "checkpoint metadata edited by hand",
        ["--init_from=resume", "--out_dir={EDITED_META}", "--max_iters=40"],
        "no usable checkpoint in",
        2,
    ),
    (
        "train.py",
        "every checkpoint damaged",
        ["--init_from=resume", "--out_dir={DAMAGED}", "--max_iters=40"],
        "bytes instead of",
        2,
    ),
    (
        "train.py",
        "a disk that fills up during a save",
        [*TINY_FLAGS, "--data_file={DATA}", "--out_dir={DISK_FULL}", "--max_iters=4", "--eval_interval=4"],
        "could not save checkpoint 4 in",
        2,
    ),
    (
        "sample.py",
        "a negative number of tokens",
        ["--out_dir={MISSING}", "--max_new_tokens=-5"],
        "max_new_tokens=-5 must be an integer >= 0",
        2,
    ),
    ("sample.py", "top_k below 1", ["--out_dir={MISSING}", "--top_k=0"], "top_k=0 must be >= 1", 2),
    ("sample.py", "top_p outside (0, 1]", ["--out_dir={MISSING}", "--top_p=1.5"], "top_p=1.5 must be in (0, 1]", 2),
    (
        "sample.py",
        "a negative temperature",
        ["--out_dir={MISSING}", "--temperature=-1"],
        "temperature=-1.0 must be >= 0",
        2,
    ),
    (
        "sample.py",
        "no samples asked for",
        ["--out_dir={MISSING}", "--num_samples=0"],
        "--num_samples=0 must be >= 1",
        2,
    ),
    (
        "sample.py",
        "a prompt file that does not exist",
        ["--out_dir={MISSING}", "--start=FILE:/no/prompt.txt"],
        "prompt file /no/prompt.txt does not exist",
        2,
    ),
    (
        "sample.py",
        "a prompt file that is not text",
        ["--out_dir={MISSING}", "--start=FILE:{BINARY}"],
        "cannot be read as UTF-8 text",
        2,
    ),
    ("sample.py", "an empty prompt", ["--out_dir={MISSING}", "--start="], "the prompt is empty", 2),
    (
        "sample.py",
        "a checkpoint name that is not one",
        ["--out_dir={MISSING}", "--checkpoint=newest"],
        "--checkpoint='newest' must be best, latest or an iteration number",
        2,
    ),
    (
        "sample.py",
        "a run folder that does not exist",
        ["--out_dir={MISSING}"],
        "does not exist: train first, or pass the --out_dir of a training run",
        2,
    ),
    (
        "sample.py",
        "a checkpoint that does not exist",
        ["--out_dir={RUN}", "--checkpoint=7"],
        "no checkpoint for step 7",
        2,
    ),
    (
        "sample.py",
        "a prompt with characters the model does not know",
        ["--out_dir={RUN}", "--start=ROMEO: ☃"],
        "1 character(s) outside the tokenizer's 65-character vocabulary: '☃'",
        2,
    ),
    (
        "sample.py",
        "a prompt longer than the context",
        ["--out_dir={RUN}", "--start=" + "a" * 33],
        "the prompt has 33 tokens, more than the model's block_size=32",
        2,
    ),
    (
        "sample.py",
        "a run of the other kind",
        ["--out_dir={SEQ2SEQ_RUN}"],
        "holds an encoder-decoder (seq2seq) run, not a GPT run: use it with scripts/train_seq2seq.py",
        2,
    ),
    (
        "sample.py",
        "a config.json edited into nonsense",
        ["--out_dir={NONSENSE_CONFIG}"],
        "config.json is not a jaxgpt run's config",
        2,
    ),
    ("sample.py", "every checkpoint damaged", ["--out_dir={DAMAGED}"], "no usable checkpoint in", 2),
    (
        "train_seq2seq.py",
        "resume a run of the other kind",
        ["--init_from=resume", "--out_dir={RUN}"],
        "holds a GPT run, not an encoder-decoder (seq2seq) run: resume it with scripts/train.py",
        2,
    ),
    (
        "train_seq2seq.py",
        "checkpoints of the other kind, without config.json",
        ["--init_from=resume", "--out_dir={NO_CONFIG}", "--max_iters=40"],
        "this checkpoint is of a GPT run, not an encoder-decoder (seq2seq) run: use scripts/train.py",
        2,
    ),
    ("train_seq2seq.py", "out_dir holds another run", ["--out_dir={RUN}"], "already holds a run", 2),
    ("train_seq2seq.py", "a beam of 0", ["--beam_size=0"], "--beam_size=0 must be >= 1", 2),
    ("train_seq2seq.py", "an unknown task", ["--task=translate"], "argument --task: invalid choice: 'translate'", 2),
    (
        "prepare.py",
        "a folder that holds prepared data",
        ["--data_file={DATA}", "--out_dir={PREPARED}"],
        "already holds prepared data (train.bin, val.bin, meta.json)",
        2,
    ),
]


def fingerprint(folder: pathlib.Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def damage_every_checkpoint(run_dir: pathlib.Path, file_name: str, edit) -> None:
    for step in (10, 20, 30):
        path = next(p for p in sorted((run_dir / str(step)).rglob("*")) if p.is_file() and p.match(file_name))
        path.write_bytes(edit(path.read_bytes()))


@pytest.fixture
def folders(tmp_path, trained_run, shakespeare_path, monkeypatch):
    """The folders and files the BAD_INPUT flags name."""
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

    def no_space_left(folder):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "jaxgpt-checksums.json"))

    monkeypatch.setattr(checkpoint_module, "write_manifest", no_space_left)  # only a save writes it
    return made


@pytest.mark.parametrize("script,what,argv,message,code", BAD_INPUT, ids=[f"{s}: {w}" for s, w, *_ in BAD_INPUT])
def test_bad_input_is_one_line_and_an_exit_code(monkeypatch, capsys, folders, script, what, argv, message, code):
    raw_argv, argv = argv, [arg.format_map(folders) for arg in argv]
    if script in ("train.py", "train_seq2seq.py") and not any(arg.startswith("--out_dir") for arg in argv):
        argv.append(f"--out_dir={folders['MISSING']}")
    given = [pathlib.Path(path) for name, path in folders.items() if "{" + name + "}" in " ".join(raw_argv)]
    before = {path: fingerprint(path) for path in given if path.is_dir() and path != folders["DISK_FULL"]}
    exit_code, line = run_main(monkeypatch, capsys, MAINS[script], *argv, script=script)
    assert exit_code == code and line.startswith(f"{script}: error: ") and message in line, line
    assert not folders["MISSING"].exists()  # a failed start leaves no folder behind
    assert {path: fingerprint(path) for path in before} == before  # and changes no folder it was given


def test_a_save_that_fails_keeps_every_earlier_checkpoint(monkeypatch, capsys, folders):
    """The disk fills at the second save: the first checkpoint stays complete and is named."""
    write = write_manifest  # the real one (the fixture replaced the module's)
    calls = []

    def fill_at_second_save(folder):
        calls.append(folder)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder / "jaxgpt-checksums.json"))
        write(folder)

    monkeypatch.setattr(checkpoint_module, "write_manifest", fill_at_second_save)
    out_dir = folders["DISK_FULL"]
    argv = ["--data_file=" + str(folders["DATA"]), f"--out_dir={out_dir}", "--max_iters=8", "--eval_interval=4"]
    code, line = run_main(monkeypatch, capsys, train_main, *TINY_FLAGS, *argv)
    assert (
        code == 2
        and f"could not save checkpoint 8 in {out_dir} (no space left on device); checkpoint 4 is intact" in line
    )
    assert line.endswith("resume with --init_from resume")
    assert restore_model(out_dir, "latest")[3]["iter"] == 4


def test_the_readme_lists_every_bad_input():
    readme = (ROOT / "README.md").read_text()
    table = readme.split("### Bad input", 1)[1].split("\n## ", 1)[0]
    missing = [f"{script}: {what}" for script, what, *_ in BAD_INPUT if f"| {what} |" not in table]
    assert not missing, missing


def test_resume_alone_continues_with_the_runs_own_settings(monkeypatch, capsys, folders):
    """The run was trained with batch 4 and evaluations every 10; the preset says 12 and 250."""
    run_dir = folders["RUN"]
    monkeypatch.setattr(checkpoint_module, "write_manifest", write_manifest)  # a disk with room again
    monkeypatch.setattr(sys, "argv", ["train.py", "--init_from=resume", f"--out_dir={run_dir}", "--max_iters=32"])
    with pytest.raises(SystemExit) as exit_info:
        run(train_main)
    assert exit_info.value.code == 0, capsys.readouterr().err[-2000:]
    settings = json.loads((run_dir / "config.json").read_text())["train"]
    assert settings["batch_size"] == 4 and settings["eval_interval"] == 10 and settings["max_iters"] == 32
    assert settings["init_from"] == "resume"


def test_a_failing_device_is_one_line_and_exit_code_1(monkeypatch, capsys):
    def out_of_memory(argv):
        raise jax.errors.JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB\nthe runtime's details")

    exit_code, line = run_main(monkeypatch, capsys, out_of_memory)
    assert exit_code == 1
    assert (
        line
        == "train.py: error: RESOURCE_EXHAUSTED: Out of memory allocating 8 GiB (JAXGPT_DEBUG=1 shows the traceback)"
    )


def test_scripts_turn_on_the_fast_gpu_flags_but_keep_the_users_own(monkeypatch):
    from jaxgpt.cli.run import FAST_XLA_FLAGS, add_fast_xla_flags

    environ = {}
    add_fast_xla_flags(environ)
    assert environ["XLA_FLAGS"] == " ".join(f"{name}={value}" for name, value in FAST_XLA_FLAGS.items())
    environ = {"XLA_FLAGS": "--xla_gpu_enable_cudnn_layer_norm=false --xla_dump_to=/tmp/x"}
    add_fast_xla_flags(environ)
    assert environ["XLA_FLAGS"] == "--xla_gpu_enable_cudnn_layer_norm=false --xla_dump_to=/tmp/x"
    # run() sets them before the script's main runs
    monkeypatch.setenv("XLA_FLAGS", "--xla_dump_to=/tmp/x")
    seen = []
    with pytest.raises(SystemExit):
        run(lambda argv: seen.append(os.environ["XLA_FLAGS"]) or 0)
    assert seen == ["--xla_dump_to=/tmp/x --xla_gpu_enable_cudnn_layer_norm=true"]


def test_explore_writes_a_page_of_the_runs_attention_and_rewrites_only_its_own(trained_run, tmp_path, capsys):
    out_dir, _ = trained_run
    page = tmp_path / "page.html"
    assert explore_main(["--out_dir", str(out_dir), "--text", "ROMEO: But", "--output", str(page)]) == 0
    assert f"wrote {page}" in capsys.readouterr().out
    data = json.loads(page.read_text().split('type="application/json">')[1].split("</script>")[0])
    config = json.loads((out_dir / "config.json").read_text())["model"]
    assert "".join(data["tokens"]) == "ROMEO: But"
    assert len(data["weights"]) == config["n_layer"] and len(data["weights"][0]) == config["n_head"]
    assert (
        explore_main(["--out_dir", str(out_dir), "--text", "ROMEO", "--output", str(page)]) == 0
    )  # its own: rewritten
    assert '"tokens": ["R", "O", "M", "E", "O"]' in page.read_text()


def test_eval_scores_every_token_of_both_splits_and_is_deterministic(trained_run, capsys):
    from jaxgpt.training.data import Dataset
    from jaxgpt.training.evaluate import whole_split_loss
    from jaxgpt.training.restore import restore_model

    out_dir, _ = trained_run
    run = ["--out_dir", str(out_dir), "--checkpoint", "latest", "--batch_size", "512"]
    assert eval_main([*run, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model, params, _, meta = restore_model(out_dir, "latest")
    data = Dataset.from_text(pathlib.Path(meta["train"]["data_file"]).read_text())
    expected = whole_split_loss(model, params, data.val, model.config.block_size, batch_size=700)
    assert result["iter"] == 30 and result["unit"] == "character"
    assert result["val"]["loss"] == pytest.approx(expected, rel=1e-5)
    assert result["val"]["tokens"] == len(data.val) - 1 and result["train"]["tokens"] == len(data.train) - 1
    assert result["val"]["bits"] == pytest.approx(expected / math.log(2), rel=1e-5)
    assert eval_main(run) == 0  # the table: the same checkpoint, the same numbers
    val_row = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("val ")][0]
    assert float(val_row[1]) == round(result["val"]["loss"], 4) and float(val_row[3]) == round(result["val"]["bits"], 4)
