"""A GPT on a seq2seq task: source and target packed into one sequence (jaxgpt/data/packed_tasks.py),
the loss on the target alone (packed_seq2seq_loss), greedy decoding after each prompt's separator
(jaxgpt/decoding/after_prompt.py) and the trainer (jaxgpt/training/train_gpt_seq2seq.py)."""

import dataclasses
import json

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt.cli.eval import eval_main
from jaxgpt.data.packed_tasks import SEP, PackedTask, PackedTaskSampler
from jaxgpt.data.tasks import BOS, EOS, PAD, TASKS, TaskSampler
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.evaluate import packed_exact_match
from jaxgpt.training.run_eval import evaluate_run
from jaxgpt.training.step.loss import label_smoothed_loss, packed_seq2seq_loss
from jaxgpt.training.train_gpt_seq2seq import gpt_config_for, train_gpt_seq2seq

REVERSE = PackedTask(TASKS["reverse"])


def test_packing_puts_source_separator_target_eos_and_scores_only_the_target():
    x, y = REVERSE.pack("123", "321")  # digit d has id 3 + d
    assert SEP == BOS and (REVERSE.vocab_size, REVERSE.length) == (13, 21)
    assert x.tolist() == [4, 5, 6, SEP, 6, 5, 4, EOS] + [PAD] * 13
    assert y.tolist() == [PAD, PAD, PAD, 6, 5, 4, EOS] + [PAD] * 14  # x shifted, source positions blanked
    prompt, start = REVERSE.prompt("123")
    assert prompt.tolist() == [4, 5, 6, SEP] + [PAD] * 18 and start == 3  # one longer than x: room to decode
    x, y = REVERSE.pack("9" * 10, "8" * 10)  # the longest example fills x exactly
    assert x[-1] == 11 and y[-1] == EOS


def test_two_vocabularies_get_the_target_ids_after_the_source_ids():
    words = PackedTask(TASKS["words"])  # 3 specials, 27 letters and space, then the 10 digits
    assert words.vocab_size == 3 + 27 + 10
    x, y = words.pack("one", "1")
    assert x[:6].tolist() == [17, 16, 7, SEP, 3 + 27 + 1, EOS] and y[3:6].tolist() == [3 + 27 + 1, EOS, PAD]
    assert words.decode_target(y[3:]) == "1"


def test_the_packed_sampler_draws_the_examples_of_the_encoder_decoders_sampler():
    x_BxL, y_BxL = PackedTaskSampler(REVERSE, 5, "val").sample(16)
    src_BxS, _, tgt_out_BxT = TaskSampler(REVERSE.task, 5, "val").sample(16)
    for x, y, src, tgt_out in zip(x_BxL, y_BxL, src_BxS, tgt_out_BxT):
        n = int(np.argmax(src == EOS))
        assert x[:n].tolist() == src[:n].tolist() and x[n] == SEP
        assert y[y != PAD].tolist() == tgt_out[tgt_out != PAD].tolist()  # the same scored tokens, EOS included


@pytest.fixture(scope="module")
def tiny_gpt():
    config = gpt_config_for(TASKS["reverse"], n_layer=1, n_head=2, n_embd=16)
    model = GPT(config)
    return model, jax.jit(model.init)(jax.random.key(0), *REVERSE.example_inputs())["params"]


def test_the_loss_is_the_smoothed_cross_entropy_of_the_target_positions_alone(tiny_gpt):
    model, params = tiny_gpt
    sources = ["7", "0123456789", "55555"]
    x_BxL, y_BxL = (np.stack(a) for a in zip(*(REVERSE.pack(s, s[::-1]) for s in sources)))
    loss = jax.jit(packed_seq2seq_loss(model, TrainConfig(label_smoothing=0.1), PAD))(params, (x_BxL, y_BxL))
    logits_BxLxV = np.asarray(model.apply({"params": params}, x_BxL), np.float64)
    log_p_BxLxV = logits_BxLxV - np.log(np.exp(logits_BxLxV).sum(-1, keepdims=True))
    smoothed_BxL = -0.9 * np.take_along_axis(log_p_BxLxV, y_BxL[..., None], -1)[..., 0] - 0.1 / 13 * log_p_BxLxV.sum(-1)
    # the positions from SEP (at len(source)) to the last target digit predict the target and EOS
    scored_BxL = np.stack(
        [(np.arange(REVERSE.length) >= len(s)) & (np.arange(REVERSE.length) <= 2 * len(s)) for s in sources]
    )
    assert scored_BxL.sum() == (1 + 1) + (10 + 1) + (5 + 1)
    assert float(loss) == pytest.approx(smoothed_BxL[scored_BxL].mean(), abs=1e-5)


def test_logits_at_source_positions_do_not_change_the_loss():
    _, y = REVERSE.pack("4567", "7654")
    logits_LxV = jax.random.normal(jax.random.key(1), (1, REVERSE.length, 13))
    base = float(label_smoothed_loss(logits_LxV, y[None], 0.1))
    at_source = logits_LxV.at[0, :4].add(10.0 * jax.random.normal(jax.random.key(2), (4, 13)))
    at_target = logits_LxV.at[0, 4].add(10.0 * jax.random.normal(jax.random.key(2), (13,)))
    assert float(label_smoothed_loss(at_source, y[None], 0.1)) == pytest.approx(base, abs=1e-6)
    assert float(label_smoothed_loss(at_target, y[None], 0.1)) != pytest.approx(base, abs=1e-3)


class ReversingOracle(nn.Module):
    """A causal "model" that knows the task: at position p after SEP (at s, the source's length) it
    predicts the source token s - 1 - (p - s), then EOS; elsewhere pad. It reads only x[:p + 1]."""

    vocab_size: int = 13

    @nn.compact
    def __call__(self, x_BxL):
        B, L = x_BxL.shape
        self.param("unused", nn.initializers.zeros, (1,))
        s_Bx1 = jnp.argmax(x_BxL == SEP, axis=1)[:, None]
        p_L = jnp.arange(L)
        source_index_BxL = 2 * s_Bx1 - 1 - p_L
        read_BxL = jnp.take_along_axis(x_BxL, jnp.clip(source_index_BxL, 0, L - 1), axis=1)
        next_BxL = jnp.where(p_L < s_Bx1, PAD, jnp.where(source_index_BxL >= 0, read_BxL, EOS))
        return jax.nn.one_hot(next_BxL, self.vocab_size)


def test_greedy_decoding_continues_each_prompt_after_its_own_separator():
    oracle = ReversingOracle()
    params = oracle.init(jax.random.key(0), *REVERSE.example_inputs())["params"]
    accuracy, examples = packed_exact_match(oracle, params, REVERSE.task, n=50)
    assert accuracy == 1.0 and len({len(s) for s, _, _ in examples}) > 5  # prompts of many lengths, one batch
    assert all(decoded == source[::-1] for source, _, decoded in examples)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("gpt-seq2seq")
    config = TrainConfig(
        out_dir=str(out_dir),
        max_iters=20,
        eval_interval=10,
        eval_iters=2,
        log_interval=10,
        batch_size=16,
        learning_rate=1e-2,
        warmup_iters=5,
        lr_decay_iters=20,
        label_smoothing=0.1,
    )
    sizes = GPTConfig(n_layer=1, n_head=2, n_embd=16)
    printed = []
    result = train_gpt_seq2seq(config, "copy", sizes, progress=False, echo=printed.append, exact_match_examples=20)
    return out_dir, result, printed


def test_the_trainer_learns_and_writes_a_gpt_seq2seq_run(trained):
    out_dir, result, printed = trained
    records = [json.loads(line) for line in (out_dir / "metrics.jsonl").read_text().splitlines()]
    val = [r["val_loss"] for r in records if "val_loss" in r]
    assert len(val) == 3 and val[-1] < val[0] - 0.1  # from about ln 13 = 2.56
    assert json.loads((out_dir / "config.json").read_text())["kind"] == "gpt-seq2seq"
    assert result.model_config.vocab_size == 13 and result.model_config.block_size == 21
    assert "task copy, decoder-only" in printed[0]
    scores, examples = result.exact_match
    assert 0.0 <= scores["exact_match_greedy"] <= 1.0 and examples.count("->") == 5
    evaluated = evaluate_run(out_dir, "latest")  # scripts/eval.py's path, through the kinds table
    assert evaluated["task"] == "copy" and evaluated["iter"] == 20 and "beam" not in evaluated


def test_scripts_eval_reports_greedy_exact_match_and_the_run_resumes(trained, capsys):
    out_dir, result, _ = trained
    assert eval_main(["--out_dir", str(out_dir), "--checkpoint", "latest"]) == 0
    header, scores = capsys.readouterr().out.splitlines()
    assert "iteration 20, task copy" in header and scores.startswith("exact match: greedy ") and "beam" not in scores
    config = TrainConfig.from_json(json.loads((out_dir / "config.json").read_text())["train"])
    printed = []
    resumed = train_gpt_seq2seq(
        dataclasses.replace(config, init_from="resume", max_iters=25), progress=False, echo=printed.append
    )
    assert "resuming from iteration 20" in printed[0] and int(resumed.state.step) == 25
    assert resumed.model_config == result.model_config and resumed.task.name == "copy"
