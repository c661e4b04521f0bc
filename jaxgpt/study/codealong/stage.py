"""One stage of the video trained and scored beside the video's PyTorch code at the same stage.

`train_stage` trains the stage's model (yours or the video's) from PyTorch's initialisation on the
batches of the shared seeded sampler, scores it as the video's `estimate_loss` does and prints the
val loss beside the PyTorch twin's (jaxgpt.study.codealong.video_losses, written by
scripts/codealong_vs_torch.py with the same settings and batches).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from jaxgpt.study.codealong import video_losses
from jaxgpt.study.codealong.bigram import BigramLanguageModel
from jaxgpt.study.codealong.config import STAGES, Stage
from jaxgpt.study.codealong.gpt import stage_model
from jaxgpt.study.codealong.training import eval_batches, get_batches, init_params, train

# How far a val loss may sit from the PyTorch twin's. From the very same initial weights and batches
# the two frameworks agree to 0.003 or better after hundreds of steps (0.004 in the dropout stage,
# whose masks differ); from another random start (jaxgpt's own draws, or PyTorch's for seeds 1 and 2) a
# stage's val loss moved by up to 0.068 (video_losses.SEED_SPREAD; the 3-block stage without
# residual moves most). About twice that:
TOLERANCE = 0.15
EVAL_ITERS = 50  # batches per split in estimate_loss (the video: 200; the same windows for both frameworks)


@dataclasses.dataclass
class StageResult:
    stage: Stage
    params: dict
    losses: np.ndarray  # training loss of every step
    train_loss: float
    val_loss: float
    torch_val_loss: float | None  # the video's PyTorch code, same settings (None: not measured yet)

    @property
    def difference(self) -> float:
        return self.val_loss - self.torch_val_loss


def block_size_of(stage: Stage) -> int:
    return 8 if stage.config is None else stage.config.block_size


def model_of(stage: Stage, **yours):
    """The stage's model: the bigram, or the GPT with `yours` (head=, attention=, ffwd=, block=) in it."""
    return BigramLanguageModel() if stage.config is None else stage_model(stage.config, **yours)


def train_stage(name: str, data, model=None, seed: int = 0, verbose: bool = True, params=None) -> StageResult:
    """Train STAGES[name] (the video's modules, or `model`) for its steps on `data` (a Dataset)."""
    stage = STAGES[name]
    model = model_of(stage) if model is None else model
    block_size = block_size_of(stage)
    params = init_params(model, block_size, seed) if params is None else params
    batches = get_batches(data.train, block_size, stage.batch_size, stage.steps, seed)
    evaluation = eval_batches(data, block_size, stage.batch_size, EVAL_ITERS)
    params, losses, scores = train(model, params, batches, stage.learning_rate, seed, evaluation)
    torch_val = video_losses.TORCH_VAL_LOSS.get(name)
    result = StageResult(stage, params, np.asarray(losses), scores["train"], scores["val"], torch_val)
    if verbose:
        print(
            f"stage '{name}' ({stage.what}): {stage.steps} steps, lr {stage.learning_rate:g}, batch {stage.batch_size}"
        )
        print(
            f"step 0: loss {losses[0]:.4f}; after training: train loss {result.train_loss:.4f}, "
            f"val loss {result.val_loss:.4f}"
        )
        if torch_val is None:
            print("(no PyTorch value stored for this stage: run scripts/codealong_vs_torch.py)")
        else:
            print(
                f"val loss {result.val_loss:.2f} — the video's PyTorch code at this stage, same data and settings: "
                f"{torch_val:.2f} (difference {result.difference:+.3f}, tolerance ±{TOLERANCE})"
            )
    return result


def yours_or_video(yours, check, video):
    """`yours` when `check(yours)` passes, else the video's class; says which one will train."""
    passed = check(yours, verbose=False)
    name = getattr(yours, "__name__", "yours")
    if passed:
        print(f"training your {name}")
        return yours
    why = "is not written yet" if passed.not_written else f"does not pass {passed.name} yet"
    print(f"{name} {why}: training the video's {video.__name__} (jaxgpt's) instead")
    return video


def val_loss_after(data, config, learning_rate: float, steps: int, batch_size: int = 32, seed: int = 0) -> float:
    """The val loss of the video's model at `config` after `steps` steps: one point of an experiment."""
    model = stage_model(config)
    batches = get_batches(data.train, config.block_size, batch_size, steps, seed)
    evaluation = {"val": eval_batches(data, config.block_size, batch_size, EVAL_ITERS)["val"]}
    _, _, scores = train(model, init_params(model, config.block_size, seed), batches, learning_rate, seed, evaluation)
    return scores["val"]
