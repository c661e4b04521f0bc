"""TrainConfig checks itself: every rule, each with its one-line message naming the value."""

import dataclasses

import pytest

from jaxgpt.errors import InputError
from jaxgpt.training.config import TrainConfig


def test_the_defaults_and_a_full_custom_config_are_accepted():
    assert TrainConfig().max_iters == 600000
    custom = TrainConfig(decay_lr=False, min_lr=1.0, lr_schedule="noam", warmup_iters=1, dtype="bfloat16")
    assert custom.lr_schedule == "noam"  # min_lr above learning_rate is fine when nothing decays


POSITIVE = ["eval_interval", "log_interval", "eval_iters", "gradient_accumulation_steps", "batch_size"]
BAD = [
    *[({name: 0}, f"{name}=0 must be a positive integer") for name in [*POSITIVE, "keep_checkpoints"]],
    ({"batch_size": True}, "batch_size=True must be a positive integer"),
    ({"batch_size": 2.0}, "batch_size=2.0 must be a positive integer"),
    *[({name: -1}, f"{name}=-1 must be an integer >= 0") for name in ["max_iters", "warmup_iters", "lr_decay_iters"]],
    ({"learning_rate": 0.0}, "learning_rate=0.0 must be > 0"),
    ({"min_lr": 1.0}, "min_lr=1.0 must be between 0 and learning_rate=0.0006"),
    ({"min_lr": -1e-5}, "min_lr=-1e-05 must be between 0"),
    ({"lr_decay_iters": 10, "warmup_iters": 20}, "lr_decay_iters=10 must be > warmup_iters=20"),
    # equal, the cosine would have no steps to decay over (optax refused it with a traceback)
    ({"lr_decay_iters": 20, "warmup_iters": 20}, "lr_decay_iters=20 must be > warmup_iters=20"),
    ({"beta1": 1.0}, r"beta1=1.0 must be in \[0, 1\)"),
    ({"beta2": -0.1}, r"beta2=-0.1 must be in \[0, 1\)"),
    ({"lr_schedule": "linear"}, "lr_schedule='linear' is not one of cosine, noam"),
    ({"lr_schedule": "noam", "warmup_iters": 0}, "lr_schedule='noam' needs warmup_iters >= 1, got 0"),
    ({"label_smoothing": 1.0}, r"label_smoothing=1.0 must be in \[0, 1\)"),
    ({"weight_decay": -0.1}, "weight_decay=-0.1 must be >= 0"),
    ({"grad_clip": -1.0}, "grad_clip=-1.0 must be >= 0"),
    ({"peak_flops": -1.0}, "peak_flops=-1.0 must be >= 0"),
    ({"dropout_rng": "philox"}, "dropout_rng='philox' is not one of threefry2x32, rbg, unsafe_rbg"),
    ({"dtype": "float64"}, "dtype='float64' is not one of auto, float32, bfloat16, float16"),
]


@pytest.mark.parametrize("fields,message", BAD, ids=[next(iter(fields)) for fields, _ in BAD])
def test_each_rule_names_the_value(fields, message):
    with pytest.raises(InputError, match=message):
        TrainConfig(**fields)


def test_a_config_is_a_leaf_that_checks_no_paths():
    # the data and weights are checked by the trainer that uses them, not when a config is made
    config = TrainConfig(dataset="no/such/folder", data_file="no-such-file.txt", init_from="no-such-weights")
    assert config.dataset == "no/such/folder"


def test_a_runs_json_from_an_older_version_loads_without_the_settings_since_removed():
    old = {**dataclasses.asdict(TrainConfig(seed=7)), "compilation_cache": True}  # a setting now command-line only
    assert TrainConfig.from_json(old) == TrainConfig(seed=7)
    with pytest.raises(TypeError):
        TrainConfig(**old)
