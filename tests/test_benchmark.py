"""bench.py's timers on a tiny model: each runs its framework's real step, and reports the fastest
timed window per step (speed itself is measured by scripts/bench.py, never asserted here)."""

import functools
import types

import pytest

from jaxgpt.benchmark import timing
from jaxgpt.benchmark.pytorch import time_torch_generation, time_torch_train_step
from jaxgpt.benchmark.timing import fastest_seconds, time_generation, time_train_step
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.config import TrainConfig

MODEL = GPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, bias=False)
TRAINING = TrainConfig(batch_size=4, gradient_accumulation_steps=2)


def fake_clock(monkeypatch, *window_seconds):
    """The timers' clock, replaced: the timed windows last `window_seconds`, one after the other."""
    ticks = iter([t for seconds in window_seconds for t in (0.0, seconds)])
    monkeypatch.setattr(timing, "time", types.SimpleNamespace(perf_counter=lambda: next(ticks)))


def test_fastest_seconds_keeps_the_fastest_window(monkeypatch):
    calls = []
    fake_clock(monkeypatch, 0.5, 0.2, 0.3)
    assert fastest_seconds(lambda: calls.append(1), repeats=3) == 0.2
    assert len(calls) == 3


TORCH_PEERS = {peer: functools.partial(time_torch_train_step, peer=peer) for peer in ("nanogpt", "transformers")}


@pytest.mark.parametrize("timer", [time_train_step, *TORCH_PEERS.values()], ids=["jaxgpt", *TORCH_PEERS])
def test_train_step_timers_report_the_fastest_window_per_step(timer, monkeypatch):
    fake_clock(monkeypatch, 0.5, 0.2)  # two windows of 2 steps: the fastest takes 0.1 s a step
    result = timer(MODEL, TRAINING, iters=2, repeats=2)
    assert result["ms_per_iter"] == pytest.approx(100.0)
    assert result["tokens_per_sec"] == pytest.approx(2 * 4 * 16 / 0.1)  # A x B x T tokens a step
    if timer is time_train_step:
        assert 0 < result["mfu"] < 1
    else:
        assert result["peer"] == timer.keywords["peer"] and result["device"] in ("cpu", "cuda")


def test_the_loop_timer_reports_the_loops_own_windows_after_the_first(monkeypatch):
    from jaxgpt.training import loop

    # The loop's clock, replaced by one that only its train steps move: it says how long the steps
    # run so far took, however many times the loop reads it. Each log window's time passes in the
    # window's last step, so a loop that reads a window's clock after queuing up to log_interval - 1
    # more steps measures the same window. Windows of 4 steps at 100 ms a step (compiling,
    # dropped), then 6, 1, 4, 2 and 3 ms a step: the median is 3, the fastest 1.
    log_interval, window_ms_per_iter = 4, [100, 6, 1, 4, 2, 3]
    step_seconds = {log_interval * (w + 1): log_interval * ms / 1000 for w, ms in enumerate(window_ms_per_iter)}
    steps_run = [0]
    make_train_step = loop.make_train_step

    def make_timed_train_step(*args, **kwargs):
        train_step = make_train_step(*args, **kwargs)

        def timed_train_step(*step_args):
            steps_run[0] += 1
            return train_step(*step_args)

        return timed_train_step

    def clock():
        return sum(step_seconds.get(step, 0.0) for step in range(1, steps_run[0] + 1))

    monkeypatch.setattr(loop, "make_train_step", make_timed_train_step)
    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=clock))
    result = timing.time_training_loop(MODEL, TrainConfig(batch_size=4, log_interval=log_interval), iters=24)
    assert steps_run == [24]
    assert result == {"ms_per_iter": pytest.approx(3.0), "fastest_ms_per_iter": pytest.approx(1.0), "windows": 5}


def test_weight_bytes_are_gpt2s_124m_parameters_and_the_bandwidth_is_bytes_over_the_fastest_read(monkeypatch):
    gpt2 = GPTConfig.from_preset("gpt2")
    assert timing.weight_bytes(gpt2) == 124_439_808 * 4  # GPT-2 small, the head tied to wte
    assert timing.weight_bytes(gpt2, dtype="bfloat16") == 124_439_808 * 2
    fake_clock(monkeypatch, 0.5, 0.25)
    assert timing.measure_read_bandwidth(megabytes=1, repeats=2) == pytest.approx(2**20 / 0.25)


def test_the_torch_timer_runs_the_nanogpt_peer_by_default_on_the_real_clock():
    result = time_torch_train_step(MODEL, TRAINING, iters=2, repeats=1)
    assert result["peer"] == "nanogpt" and result["ms_per_iter"] > 0 and result["tokens_per_sec"] > 0


def test_an_unknown_torch_peer_names_the_choices():
    with pytest.raises(InputError, match="peer='mingpt' is not one of nanogpt, transformers"):
        time_torch_train_step(MODEL, TRAINING, iters=2, repeats=1, peer="mingpt")


@pytest.mark.parametrize("timer", [time_generation, time_torch_generation])
def test_generation_timers_report_the_fastest_run(timer, monkeypatch):
    fake_clock(monkeypatch, 0.3, 0.1)
    result = timer(MODEL, 5, use_cache=True, repeats=2)
    assert result["seconds"] == pytest.approx(0.1)
    assert result["tokens_per_sec"] == pytest.approx(5 / 0.1)
