"""Your own block inside a GPT, trained on tiny Shakespeare: watch your code learn.

    losses = train_your_block(MyBlock, text)     # MyBlock(n_head=H) on x [B, T, C] -> [B, T, C]

The GPT around it is jaxgpt's (embeddings, final LayerNorm, tied head), its blocks are yours; the
training step is jaxgpt's jitted AdamW step. A small model, so 200 steps take seconds on a CPU:
the loss should fall from ln(65) = 4.17 towards 2.5.
"""

from __future__ import annotations

import numpy as np

from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh, shard_state
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step


def train_your_block(block_class, text: str, steps: int = 200, n_layer: int = 2, n_embd: int = 64, n_head: int = 4):
    """Train a character GPT whose `n_layer` blocks are `block_class(n_head=n_head)`; returns the
    training loss of every step (NumPy [steps]) and prints it every 50 steps."""
    data = Dataset.from_text(text)
    model_config = GPTConfig(
        vocab_size=data.tokenizer.vocab_size, block_size=32, n_layer=n_layer, n_head=n_head, n_embd=n_embd
    )
    config = TrainConfig(
        batch_size=16, learning_rate=3e-3, min_lr=3e-4, warmup_iters=20, lr_decay_iters=steps, max_iters=steps
    )
    model, optimizer, mesh = GPT(model_config, block_class=block_class), make_optimizer(config), data_mesh()
    state = shard_state(init_train_state(model, optimizer, 0, (np.zeros((1, 32), np.int32),)), mesh)
    step = make_train_step(language_model_loss(model, config), optimizer, config)
    sampler = BatchSampler(data.train, model_config.block_size, seed=0)
    losses = []
    for it in range(steps):
        state, metrics = step(state, *sampler.sample(1, config.batch_size))
        losses.append(metrics["loss"])
        if it % 50 == 0 or it == steps - 1:
            print(f"step {it}: loss {float(metrics['loss']):.3f}")
    return np.array([float(loss) for loss in losses])
