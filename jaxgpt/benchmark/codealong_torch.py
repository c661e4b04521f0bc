"""The video's bigram.py and gpt.py in PyTorch, at every stage of jaxgpt.study.codealong: the twin
that scripts/codealong_vs_torch.py trains beside the Flax stages, on the same batches from the same
weights. Importing it imports torch.

The modules are the video's (`Head`, `MultiHeadAttention`, `FeedFoward`, `Block`, with their
attribute names), with its global hyperparameters read from one config object instead, any object
with the fields of jaxgpt.study.codealong.CodeAlongConfig (vocab_size, block_size, n_embd, n_head,
n_layer, ffwd, residual, layernorm, dropout). Initialisation is PyTorch's default, as in the video.
"""

from __future__ import annotations

import re
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class Head(nn.Module):
    """One head of causal self-attention: x [B, T, C] -> [B, T, head_size]."""

    def __init__(self, config, head_size):
        super().__init__()
        self.key = nn.Linear(config.n_embd, head_size, bias=False)
        self.query = nn.Linear(config.n_embd, head_size, bias=False)
        self.value = nn.Linear(config.n_embd, head_size, bias=False)
        self.register_buffer("tril", torch.tril(torch.ones(config.block_size, config.block_size)))
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x_BxTxC):
        T = x_BxTxC.shape[1]
        k_BxTxD, q_BxTxD = self.key(x_BxTxC), self.query(x_BxTxC)
        wei_BxTxT = q_BxTxD @ k_BxTxD.transpose(-2, -1) * k_BxTxD.shape[-1] ** -0.5
        wei_BxTxT = wei_BxTxT.masked_fill(self.tril[:T, :T] == 0, float("-inf"))
        wei_BxTxT = self.dropout(F.softmax(wei_BxTxT, dim=-1))
        return wei_BxTxT @ self.value(x_BxTxC)


class MultiHeadAttention(nn.Module):
    """Heads side by side; with config.residual, then `proj` and dropout."""

    def __init__(self, config, num_heads, head_size):
        super().__init__()
        self.heads = nn.ModuleList([Head(config, head_size) for _ in range(num_heads)])
        self.residual = config.residual
        if config.residual:
            self.proj = nn.Linear(head_size * num_heads, config.n_embd)
            self.dropout = nn.Dropout(config.dropout)

    def forward(self, x_BxTxC):
        out = torch.cat([h(x_BxTxC) for h in self.heads], dim=-1)
        return self.dropout(self.proj(out)) if self.residual else out


class FeedFoward(nn.Module):
    """Linear and ReLU; with config.residual, Linear (C -> 4C), ReLU, Linear (4C -> C), Dropout."""

    def __init__(self, config):
        super().__init__()
        C = config.n_embd
        if config.residual:
            self.net = nn.Sequential(nn.Linear(C, 4 * C), nn.ReLU(), nn.Linear(4 * C, C), nn.Dropout(config.dropout))
        else:
            self.net = nn.Sequential(nn.Linear(C, C), nn.ReLU())

    def forward(self, x_BxTxC):
        return self.net(x_BxTxC)


class Block(nn.Module):
    """Communication then computation, each x + f(ln(x)) with the residual and LayerNorm flags."""

    def __init__(self, config):
        super().__init__()
        self.config = config
        self.sa = MultiHeadAttention(config, config.n_head, config.n_embd // config.n_head)
        self.ffwd = FeedFoward(config) if config.ffwd else None
        if config.layernorm:
            self.ln1, self.ln2 = nn.LayerNorm(config.n_embd), nn.LayerNorm(config.n_embd)

    def forward(self, x):
        sublayers = [(self.sa, "ln1")] + ([(self.ffwd, "ln2")] if self.ffwd is not None else [])
        for f, ln in sublayers:
            y = getattr(self, ln)(x) if self.config.layernorm else x
            x = x + f(y) if self.config.residual else f(y)
        return x


class BigramLanguageModel(nn.Module):
    def __init__(self, vocab_size):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab_size, vocab_size)

    def forward(self, idx_BxT):
        return self.token_embedding_table(idx_BxT)


class GPTLanguageModel(nn.Module):
    """Embeddings, config.n_layer blocks, ln_f (with config.layernorm), lm_head: idx [B, T] -> logits."""

    def __init__(self, config):
        super().__init__()
        self.token_embedding_table = nn.Embedding(config.vocab_size, config.n_embd)
        self.position_embedding_table = nn.Embedding(config.block_size, config.n_embd)
        self.blocks = nn.Sequential(*[Block(config) for _ in range(config.n_layer)])
        self.ln_f = nn.LayerNorm(config.n_embd) if config.layernorm else nn.Identity()
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size)

    def forward(self, idx_BxT):
        T = idx_BxT.shape[1]
        x = self.token_embedding_table(idx_BxT) + self.position_embedding_table(torch.arange(T))
        return self.lm_head(self.ln_f(self.blocks(x)))


def use_threads(n: int) -> None:
    """PyTorch's intra-op threads: for models this small one thread is fastest, more only wait on each other."""
    torch.set_num_threads(n)


def make_model(config, seed: int, vocab_size: int = 65):
    """The stage's model (config None: the bigram) with PyTorch's default initialisation from `seed`."""
    torch.manual_seed(seed)
    return BigramLanguageModel(vocab_size) if config is None else GPTLanguageModel(config)


def flax_params(model) -> dict:
    """The model's weights as the Flax twin's parameter tree: `blocks.0.sa.heads.1.key.weight` becomes
    blocks_0/sa/heads_1/key/kernel (transposed: nn.Linear stores [out, in], Flax [in, out])."""
    tree = {}
    for module_name, module in model.named_modules():
        names = {nn.Linear: {"weight": "kernel", "bias": "bias"}, nn.Embedding: {"weight": "embedding"}}
        names[nn.LayerNorm] = {"weight": "scale", "bias": "bias"}
        for kind, renamed in names.items():
            if type(module) is not kind:
                continue
            path = re.sub(r"\.(\d+)", r"_\1", module_name).split(".")  # blocks.0 -> blocks_0
            node = tree
            for part in path:
                node = node.setdefault(part, {})
            for name, value in module.named_parameters(recurse=False):
                array = value.detach().numpy().copy()
                node[renamed[name]] = array.T if kind is nn.Linear and name == "weight" else array
    return tree


def train(model, batches, learning_rate: float, eval_batches: dict):
    """The video's loop on the given batches (x, y [N, B, T]): AdamW with PyTorch's defaults; then the
    mean loss over eval_batches[split] in eval mode -> (training losses [N], {split: loss}, seconds)."""
    start = time.perf_counter()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)
    model.train()
    losses = []
    for x_BxT, y_BxT in zip(*batches):
        logits = model(torch.from_numpy(x_BxT).long())
        loss = F.cross_entropy(logits.flatten(0, 1), torch.from_numpy(y_BxT).long().flatten())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    model.eval()
    scores = {}
    with torch.no_grad():
        for split, (x_NxBxT, y_NxBxT) in eval_batches.items():
            split_losses = [
                F.cross_entropy(model(torch.from_numpy(x).long()).flatten(0, 1), torch.from_numpy(y).long().flatten())
                for x, y in zip(x_NxBxT, y_NxBxT)
            ]
            scores[split] = float(torch.stack(split_losses).mean())
    return np.array(losses), scores, time.perf_counter() - start
