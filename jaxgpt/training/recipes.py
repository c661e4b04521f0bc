"""Recipes: the training settings each preset is trained with (nanoGPT's configs), in one place for
the GPT and the encoder-decoder trainers. Each is a dict of `TrainConfig` fields; flags override them."""

from __future__ import annotations

import jax

_SHAKESPEARE_RECIPE = dict(
    out_dir="out-shakespeare-char",
    eval_interval=250,
    eval_iters=200,
    log_interval=10,
    always_save_checkpoint=False,
    batch_size=64,
    learning_rate=1e-3,
    max_iters=5000,
    lr_decay_iters=5000,
    min_lr=1e-4,
    beta2=0.99,
    warmup_iters=100,
)
TRAIN_RECIPES: dict[str, dict] = {
    # nanoGPT's config/train_shakespeare_char.py
    "shakespeare-char": _SHAKESPEARE_RECIPE,
    # and the CPU command of nanoGPT's README (batch 12, 2000 iterations, eval_iters 20)
    "shakespeare-char-cpu": {
        **_SHAKESPEARE_RECIPE,
        "batch_size": 12,
        "max_iters": 2000,
        "lr_decay_iters": 2000,
        "eval_iters": 20,
    },
}


# nanoGPT's config/finetune_shakespeare.py: the recipe when training starts from GPT-2's weights
FINETUNE_RECIPE = dict(
    out_dir="out-shakespeare",
    eval_interval=5,
    eval_iters=40,
    always_save_checkpoint=False,
    dataset="shakespeare",
    batch_size=1,
    gradient_accumulation_steps=32,
    max_iters=20,
    learning_rate=3e-5,
    decay_lr=False,
)


def default_preset() -> str:
    """The model to train when none is named: small on a CPU, nanoGPT's Shakespeare model elsewhere."""
    return "shakespeare-char-cpu" if jax.default_backend() == "cpu" else "shakespeare-char"


# copy, reverse and sort on a laptop CPU in minutes: Adam with the paper's beta2 = 0.98 and the
# inverse-square-root schedule, label smoothing 0.1, no dropout (the data never repeats)
SEQ2SEQ_RECIPE = dict(
    out_dir="out-seq2seq",
    eval_interval=250,
    eval_iters=10,
    log_interval=25,
    always_save_checkpoint=False,
    batch_size=64,
    learning_rate=2e-3,
    max_iters=2000,
    lr_schedule="noam",
    warmup_iters=200,
    beta2=0.98,
    weight_decay=0.0,
    label_smoothing=0.1,
)
