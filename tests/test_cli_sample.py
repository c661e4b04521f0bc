"""scripts/sample.py on a finished run: seeded text from a prompt or a prompt file, and bfloat16
weights when asked for."""

import jax
import jax.numpy as jnp
import pytest
from cli_runs import script

import jaxgpt.cli.sample as sample_module
from jaxgpt.cli.sample import sample_main

pytestmark = pytest.mark.xdist_group("trained_run")  # the worker that trains `trained_run` (conftest.py)


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
    out_dir, _ = trained_run
    dtypes = []

    def recording_generate(model, params, *args, **kwargs):
        dtypes.extend({leaf.dtype for leaf in jax.tree.leaves(params)})
        return real_generate(model, params, *args, **kwargs)

    real_generate = sample_module.generate
    monkeypatch.setattr(sample_module, "generate", recording_generate)
    args = ["--out_dir", str(out_dir), "--num_samples=1", "--max_new_tokens=20", "--start=ROMEO:"]
    assert sample_main([*args, "--dtype=bfloat16"]) == 0
    header, text = capsys.readouterr().out.split("\n", 1)
    assert header.endswith(", weights in bfloat16") and text.startswith("ROMEO:") and len(text) > len("ROMEO:") + 10
    assert dtypes == [jnp.bfloat16]
