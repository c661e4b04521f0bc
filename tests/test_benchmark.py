"""bench.py's timers on a tiny model: they run both frameworks and report consistent figures
(speed itself is measured by scripts/bench.py, never asserted here)."""

import pytest

from jaxgpt.benchmark.timing import time_generation, time_torch_generation, time_torch_train_step, time_train_step
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.train_gpt import TrainConfig

MODEL = GPTConfig(vocab_size=65, block_size=16, n_layer=1, n_head=2, n_embd=16, bias=False)
TRAINING = TrainConfig(batch_size=4, gradient_accumulation_steps=2)


@pytest.mark.parametrize("timer", [time_train_step, time_torch_train_step])
def test_train_step_timers_report_tokens_per_second_of_their_time(timer):
    result = timer(MODEL, TRAINING, iters=2, repeats=2)
    tokens_per_step = 2 * 4 * 16
    assert result["ms_per_iter"] > 0
    assert result["tokens_per_sec"] == pytest.approx(tokens_per_step / (result["ms_per_iter"] / 1000))
    if timer is time_train_step:
        assert 0 < result["mfu"] < 1


@pytest.mark.parametrize("timer", [time_generation, time_torch_generation])
def test_generation_timers(timer):
    result = timer(MODEL, 5, use_cache=True, repeats=1)
    assert result["tokens_per_sec"] == pytest.approx(5 / result["seconds"])
