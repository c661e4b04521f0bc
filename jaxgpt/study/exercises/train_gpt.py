"""Your own GPT, trained on tiny Shakespeare and made to write.

    run = train_your_gpt(MyGPT, text)        # MyGPT(config) on token ids [B, T] -> logits [B, T, V]
    print(run.sample("ROMEO:"))

Your model starts from the weights jaxgpt's GPT of the same size starts from (its random
initialisation put into your parameter tree by name, as `check_gpt_module` does), sees the same
batches and is trained by jaxgpt's jitted AdamW step. With `compare=True` jaxgpt's GPT is trained
the same way beside it: when your model computes what GPT-2's does, the two val losses agree to
float precision. A small model, so 500 steps take seconds on a CPU: the loss falls from
ln(65) = 4.17 to about 2.1, and the text starts to look like a play.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np

from jaxgpt.data.dataset import Dataset
from jaxgpt.data.sampler import BatchSampler
from jaxgpt.data.tokenizer import CharTokenizer
from jaxgpt.decoding.generate import generate
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.study.exercises.modules import map_params
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.evaluate import whole_split_loss
from jaxgpt.training.step.loss import token_cross_entropy
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step


@dataclasses.dataclass
class YourGPTRun:
    """A trained learner's GPT: its module and parameters, the training loss of every step, the
    val loss over the whole val split, and jaxgpt's GPT's val loss trained the same way (or None)."""

    model: object
    params: dict
    tokenizer: CharTokenizer
    losses: np.ndarray  # [steps]
    val_loss: float
    jaxgpt_val_loss: float | None

    def sample(self, prompt: str = "\n", max_new_tokens: int = 200, temperature: float = 0.8, top_k=20, seed=0):
        """Text your model writes after `prompt`, one character at a time (no KV cache: your model
        has none; past block_size it sees the last block_size characters, as nanoGPT crops)."""
        prompt_1xT0 = np.array([self.tokenizer.encode(prompt)], np.int32)
        tokens_1xL = generate(
            self.model,
            self.params,
            prompt_1xT0,
            max_new_tokens,
            rng=jax.random.key(seed),
            temperature=temperature,
            top_k=top_k,
            use_cache=False,
        )
        return self.tokenizer.decode(np.asarray(tokens_1xL[0]).tolist())


def _train(model, params, data: Dataset, config: TrainConfig, block_size: int, label: str):
    """`config.max_iters` AdamW steps from `params` on batches drawn with seed 0; returns the
    trained parameters and the training loss of every step, printing it every 100 steps."""

    def loss(params, batch, dropout_key=None):  # no dropout: your module need not take a key
        x_BxT, y_BxT = batch
        return token_cross_entropy(model.apply({"params": params}, x_BxT), y_BxT).mean()

    optimizer = make_optimizer(config)
    state = init_train_state(model, optimizer, 0, (), params=params)
    step = make_train_step(loss, optimizer, config)
    sampler = BatchSampler(data.train, block_size, seed=0)
    losses = []
    for it in range(config.max_iters):
        state, metrics = step(state, *sampler.sample(1, config.batch_size))
        losses.append(metrics["loss"])
        if it % 100 == 0 or it == config.max_iters - 1:
            print(f"{label} step {it}: loss {float(metrics['loss']):.3f}")
    return state.params, np.array([float(value) for value in losses])


def train_your_gpt(
    GPTClass,
    text: str,
    steps: int = 500,
    n_layer: int = 2,
    n_head: int = 4,
    n_embd: int = 64,
    block_size: int = 32,
    compare: bool = True,
) -> YourGPTRun:
    """Train `GPTClass(config)` (GPT-2's parameter names: wte, wpe, h_0 ..., ln_f) as a character
    model of `text` for `steps` steps, from jaxgpt's initial weights; with `compare`, train
    jaxgpt's GPT the same way. Returns a `YourGPTRun` (`.sample(prompt)` writes text)."""
    data = Dataset.from_text(text)
    model_config = GPTConfig(
        vocab_size=data.tokenizer.vocab_size, block_size=block_size, n_layer=n_layer, n_head=n_head, n_embd=n_embd
    )
    config = TrainConfig(
        batch_size=16, learning_rate=3e-3, min_lr=3e-4, warmup_iters=20, lr_decay_iters=steps, max_iters=steps
    )
    tokens_1xT = np.zeros((1, block_size), np.int32)
    jaxgpt_model, yours = GPT(model_config), GPTClass(model_config)
    start = jax.jit(jaxgpt_model.init)(jax.random.key(0), tokens_1xT)["params"]
    your_start = map_params(jax.jit(yours.init)(jax.random.key(0), tokens_1xT)["params"], start)

    name = getattr(GPTClass, "__name__", "your GPT")
    params, losses = _train(yours, your_start, data, config, block_size, name)
    val_loss = whole_split_loss(yours, params, data.val, block_size)
    print(f"{name}: val loss {val_loss:.4f} after {steps} steps")
    jaxgpt_val_loss = None
    if compare:
        jaxgpt_params, _ = _train(jaxgpt_model, start, data, config, block_size, "jaxgpt's GPT")
        jaxgpt_val_loss = whole_split_loss(jaxgpt_model, jaxgpt_params, data.val, block_size)
        print(f"jaxgpt's GPT, same size, steps, batches and starting weights: val loss {jaxgpt_val_loss:.4f}")
    return YourGPTRun(yours, params, data.tokenizer, losses, val_loss, jaxgpt_val_loss)
