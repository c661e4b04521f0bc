"""GPT in PyTorch, built the way nanoGPT builds it: bench.py --vs-torch's default speed peer.

Module names are GPT-2's checkpoint keys (`transformer.wte`, `transformer.h.0.attn.c_attn`, ...),
biases are optional (bias=False is nanoGPT's recipe for small models), the MLP uses exact GELU,
attention is PyTorch's fused `scaled_dot_product_attention`, and `lm_head` shares its weight with
`wte`. jaxgpt's own model is the readable reference; this file exists to be timed against it, so it
keeps only the fused attention path. Importing it imports torch: benchmark/pytorch.py does so only
when --vs-torch asks.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.pretrained import hf_key
from jaxgpt.training.config import TrainConfig


class LayerNorm(nn.Module):
    """LayerNorm whose bias can be switched off (nn.LayerNorm could not before PyTorch 2.1)."""

    def __init__(self, n_embd: int, bias: bool, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n_embd))
        self.bias = nn.Parameter(torch.zeros(n_embd)) if bias else None
        self.eps = eps

    def forward(self, x_BxTxC):
        return F.layer_norm(x_BxTxC, self.weight.shape, self.weight, self.bias, self.eps)


class CausalSelfAttention(nn.Module):
    """Masked multi-head self-attention: one projection to q, k, v, one fused kernel, one projection out."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.resid_dropout = nn.Dropout(config.dropout)

    def forward(self, x_BxTxC):
        B, T, C = x_BxTxC.size()
        q_BxTxC, k_BxTxC, v_BxTxC = self.c_attn(x_BxTxC).split(C, dim=2)
        # heads become a batch dimension, so the kernel attends within each head
        q_BxHxTxD, k_BxHxTxD, v_BxHxTxD = (
            t.view(B, T, self.n_head, C // self.n_head).transpose(1, 2) for t in (q_BxTxC, k_BxTxC, v_BxTxC)
        )
        # is_causal lets the kernel skip the future instead of reading a [T, T] mask
        y_BxHxTxD = F.scaled_dot_product_attention(
            q_BxHxTxD, k_BxHxTxD, v_BxHxTxD, dropout_p=self.dropout if self.training else 0.0, is_causal=True
        )
        y_BxTxC = y_BxHxTxD.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y_BxTxC))


class MLP(nn.Module):
    """Linear C -> 4C, exact GELU, linear 4C -> C, dropout."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.c_fc = nn.Linear(config.n_embd, 4 * config.n_embd, bias=config.bias)
        self.gelu = nn.GELU()  # exact x * Phi(x), as nanoGPT; GPT-2 itself used the tanh approximation
        self.c_proj = nn.Linear(4 * config.n_embd, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)

    def forward(self, x_BxTxC):
        return self.dropout(self.c_proj(self.gelu(self.c_fc(x_BxTxC))))


class Block(nn.Module):
    """Pre-LN block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, config.bias, config.layer_norm_epsilon)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, config.bias, config.layer_norm_epsilon)
        self.mlp = MLP(config)

    def forward(self, x_BxTxC):
        x_BxTxC = x_BxTxC + self.attn(self.ln_1(x_BxTxC))
        return x_BxTxC + self.mlp(self.ln_2(x_BxTxC))


class TorchGPT(nn.Module):
    """Token ids [B, T] -> logits [B, T, V], and the mean cross-entropy when targets [B, T] are given."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.position != "learned":
            raise InputError(
                f"the PyTorch peer has GPT-2's learned positions only, not position={config.position!r}: "
                "compare with position='learned'"
            )
        self.config = config
        self.transformer = nn.ModuleDict(
            {
                "wte": nn.Embedding(config.vocab_size, config.n_embd),
                "wpe": nn.Embedding(config.block_size, config.n_embd),
                "drop": nn.Dropout(config.dropout),
                "h": nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                "ln_f": LayerNorm(config.n_embd, config.bias, config.layer_norm_epsilon),
            }
        )
        self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
        # one matrix both embeds tokens and scores them (weight tying, Press & Wolf 2017)
        self.transformer.wte.weight = self.lm_head.weight
        self.apply(self._init_weights)
        # residual projections add into the stream once per sub-layer, 2 * n_layer times in all:
        # shrinking them keeps the stream's variance from growing with depth (GPT-2 paper, section 2.3)
        for name, parameter in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(parameter, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx_BxT, targets_BxT=None):
        T = idx_BxT.size(1)
        if T > self.config.block_size:
            raise InputError(f"sequence length {T} exceeds block_size={self.config.block_size}: crop the input")
        positions_T = torch.arange(T, dtype=torch.long, device=idx_BxT.device)
        x_BxTxC = self.transformer.drop(self.transformer.wte(idx_BxT) + self.transformer.wpe(positions_T))
        for block in self.transformer.h:
            x_BxTxC = block(x_BxTxC)
        logits_BxTxV = self.lm_head(self.transformer.ln_f(x_BxTxC))
        if targets_BxT is None:
            return logits_BxTxV, None
        # the loss in float32 even under bfloat16 autocast, over all B * T positions at once
        loss = F.cross_entropy(logits_BxTxV.float().view(-1, logits_BxTxV.size(-1)), targets_BxT.reshape(-1))
        return logits_BxTxV, loss


def torch_gpt(config: GPTConfig, seed: int = 0) -> TorchGPT:
    """A freshly initialised TorchGPT of `config`'s sizes, bias and dropout (seeded, so runs repeat)."""
    torch.manual_seed(seed)
    return TorchGPT(config)


def torch_optimizer(model: nn.Module, train_config: TrainConfig, device: str) -> torch.optim.AdamW:
    """nanoGPT's AdamW: weight decay on >= 2-D parameters (matrices, embeddings), none on biases and
    LayerNorm gains; the fused kernel on CUDA."""
    parameters = [p for p in model.parameters() if p.requires_grad]  # a tied weight is listed once
    groups = [
        {"params": [p for p in parameters if p.dim() >= 2], "weight_decay": train_config.weight_decay},
        {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups,
        lr=train_config.learning_rate,
        betas=(train_config.beta1, train_config.beta2),
        fused=device == "cuda",
    )


def copy_jaxgpt_params(model: TorchGPT, params) -> TorchGPT:
    """Copy a jaxgpt GPT's parameter tree into `model` (same config), in place; returns `model`.

    The names map as for GPT-2's checkpoints (`pretrained.hf_key`); a Flax Dense kernel is
    (in, out) and an nn.Linear weight (out, in), so kernels are transposed.
    """
    targets = dict(model.named_parameters())
    copied = set()
    with torch.no_grad():
        for path, leaf in jax.tree_util.tree_leaves_with_path(params):
            name = "transformer." + hf_key(path)
            if name not in targets:
                raise InputError(
                    f"jaxgpt parameter {name!r} has no place in the PyTorch model: build both from the same config"
                )
            value = np.asarray(leaf, dtype=np.float32)
            if getattr(path[-1], "key", None) == "kernel":
                value = value.T
            if tuple(targets[name].shape) != value.shape:
                raise InputError(
                    f"{name!r} is {value.shape} in jaxgpt but {tuple(targets[name].shape)} here: "
                    "build both from the same config"
                )
            targets[name].copy_(torch.tensor(value))
            copied.add(name)
    missing = sorted(set(targets) - copied)
    if missing:
        raise InputError(f"jaxgpt's params lack {', '.join(missing[:5])}: build both from the same config")
    return model
