"""A/B of train-step variants in one process: python3 exp/ab_gpu.py [shakespeare|gpt2]"""

import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import jaxgpt.model.attention as A
import jaxgpt.training.step.loss as L
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh, shard_batch, shard_state
from jaxgpt.training.recipes import TRAIN_RECIPES
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step

which = sys.argv[1]
if which == "gpt2":
    mc0 = GPTConfig.from_preset("gpt2", vocab_size=50304, attention_impl="cudnn")
    tc = TrainConfig(batch_size=16, dtype="bfloat16")
else:
    mc0 = GPTConfig.from_preset("shakespeare-char", attention_impl="cudnn")
    tc = TrainConfig(**{**TRAIN_RECIPES["shakespeare-char"], "dtype": "bfloat16"})
print(mc0, tc.batch_size, tc.dtype)
mesh = data_mesh()
rng = np.random.default_rng(0)
B, T = tc.batch_size, mc0.block_size
b = shard_batch(tuple(rng.integers(0, mc0.vocab_size, (1, B, T), dtype=np.int32) for _ in "xy"), mesh, 1)
new_project = A.MultiHeadAttention._project


def old_project(self, x, context, decode):
    if context is None:
        C = x.shape[-1]
        return jnp.split(self._dense(3 * C, "c_attn", self.init_std)(x), 3, axis=-1)
    return new_project(self, x, context, decode)


new_ce = L.token_cross_entropy
old_ce = lambda l, t, s=0.0: optax.softmax_cross_entropy_with_integer_labels(l.astype(jnp.float32), t)
variants = {"old": (old_project, old_ce), "ce": (old_project, new_ce), "ce+qkv": (new_project, new_ce)}
if len(sys.argv) > 3:
    variants = {k: variants[k] for k in sys.argv[3].split(",")}
runs = {}
for name, (proj, ce) in variants.items():
    A.MultiHeadAttention._project, L.token_cross_entropy = proj, ce
    model = GPT(mc0)
    opt = make_optimizer(tc)
    state = shard_state(init_train_state(model, opt, 0, (np.zeros((1, T), np.int32),)), mesh)
    step = make_train_step(L.language_model_loss(model, tc), opt, tc, jax.tree.map(lambda a: a.sharding, state), mesh)
    t0 = time.perf_counter()
    state, m = step(state, *b)
    jax.block_until_ready(m)
    print(name, "compiled in", round(time.perf_counter() - t0, 1), "s, loss", float(m["loss"]), flush=True)
    runs[name] = [step, state]
best = {k: 1e9 for k in runs}
for r in range(int(sys.argv[2]) if len(sys.argv) > 2 else 4):
    for k, v in runs.items():
        s = time.perf_counter()
        for _ in range(10):
            v[1], m = v[0](v[1], *b)
        jax.block_until_ready(m)
        best[k] = min(best[k], (time.perf_counter() - s) / 10 * 1e3)
print(which, "fastest ms/step:", {k: round(x, 2) for k, x in best.items()}, flush=True)
for k, v in runs.items():
    v[1], m = v[0](v[1], *b)
    print(k, "loss after", int(v[1].step), "steps on one batch:", float(m["loss"]))
