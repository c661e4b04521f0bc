"""One seed of the shakespeare-char-cpu recipe in PyTorch, the way nanoGPT's train.py runs it:
    PYTHONPATH=. python docs/benchmarks/seeds-2026-11-28/torch_run.py SEED
torch.manual_seed(SEED) draws the model's init and every batch. The nanoGPT-style model of
jaxgpt/benchmark/torch_gpt.py, get_batch from the token array, 20 batches per split evaluated every
250 iterations, nanoGPT's get_lr, clipping; then the loss on the whole validation split, scored on
the same windows as jaxgpt's (jaxgpt/training/evaluate.py)."""

import math
import sys
import time

import numpy as np
import torch

t_start = time.perf_counter()
from jaxgpt.benchmark.torch_gpt import torch_gpt, torch_optimizer
from jaxgpt.data.dataset import Dataset
from jaxgpt.model.config import GPTConfig
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.recipes import TRAIN_RECIPES

text = open("tests/data/tinyshakespeare.txt").read()
data = Dataset.from_text(text)
mc = GPTConfig.from_preset("shakespeare-char-cpu", vocab_size=data.tokenizer.vocab_size)
tc = TrainConfig(**TRAIN_RECIPES["shakespeare-char-cpu"])
SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 1337
model = torch_gpt(mc, seed=SEED)  # torch.manual_seed(SEED), then the init; the batches follow on the same stream
opt = torch_optimizer(model, tc, "cpu")
train, val = torch.from_numpy(data.train.astype(np.int64)), torch.from_numpy(data.val.astype(np.int64))
B, T = tc.batch_size, mc.block_size


def get_batch(split):
    d = train if split == "train" else val
    ix = torch.randint(len(d) - T, (B,))
    return torch.stack([d[i : i + T] for i in ix]), torch.stack([d[i + 1 : i + 1 + T] for i in ix])


@torch.no_grad()
def estimate_loss():
    model.eval()
    out = {}
    for split in ("train", "val"):
        out[split] = float(torch.stack([model(*get_batch(split))[1] for _ in range(tc.eval_iters)]).mean())
    model.train()
    return out


def lr_at(it):
    if it < tc.warmup_iters:
        return tc.learning_rate * (it + 1) / (tc.warmup_iters + 1)
    if it > tc.lr_decay_iters:
        return tc.min_lr
    r = (it - tc.warmup_iters) / (tc.lr_decay_iters - tc.warmup_iters)
    return tc.min_lr + 0.5 * (1 + math.cos(math.pi * r)) * (tc.learning_rate - tc.min_lr)


train_seconds = 0.0
for it in range(tc.max_iters + 1):
    if it % tc.eval_interval == 0 or it == tc.max_iters:
        losses = estimate_loss()
        print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}", flush=True)
    if it == tc.max_iters:
        break
    t0 = time.perf_counter()
    for g in opt.param_groups:
        g["lr"] = lr_at(it)
    x, y = get_batch("train")
    _, loss = model(x, y)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), tc.grad_clip)
    opt.step()
    opt.zero_grad(set_to_none=True)
    if it % tc.log_interval == 0:
        loss.item()
    train_seconds += time.perf_counter() - t0
print(
    f"PyTorch: {tc.max_iters} iterations in {train_seconds:.1f} s of training, {time.perf_counter() - t_start:.1f} s wall; final val {losses['val']:.4f}"
)
from jaxgpt.training.evaluate import split_windows  # noqa: E402 - the same windows as jaxgpt's

x_NxT, y_NxT, counted_NxT = split_windows(data.val, T)
model.eval()
total = 0.0
with torch.no_grad():
    for s in range(0, len(x_NxT), 64):
        logits, _ = model(torch.from_numpy(x_NxT[s : s + 64]).long())
        per_token = torch.nn.functional.cross_entropy(
            logits.transpose(1, 2), torch.from_numpy(y_NxT[s : s + 64]).long(), reduction="none"
        )
        total += float((per_token * torch.from_numpy(counted_NxT[s : s + 64])).sum())
print(f"whole val split loss {total / counted_NxT.sum():.4f}")
