"""What training minimises: next-token cross-entropy for a GPT, and the label-smoothed,
pad-masked cross-entropy of the encoder-decoder Transformer (Vaswani et al. 2017, section 5.4), and
the same loss for a GPT that reads source and target as one sequence (`jaxgpt.data.packed_tasks`).

A trainer's loss is `loss(params, batch, dropout_key=None) -> scalar`; dropout is on exactly when
a key is given. Parameters stay float32; with dtype bfloat16 or float16 they are cast for the
computation and the gradient flows back to float32 through the cast."""

from __future__ import annotations

import math

import jax.numpy as jnp

from jaxgpt.model.gpt import GPT
from jaxgpt.model.params import cast_params
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.precision import DTYPES, resolve_dtype
from jaxgpt.training.step.cross_entropy import cross_entropy


def token_cross_entropy(logits_BxTxV, targets_BxT, label_smoothing: float = 0.0):
    """Cross-entropy of every position [B, T], in float32. With `label_smoothing` eps the target is
    (1 - eps) * one_hot + eps / V (the 2017 paper, section 5.4). Its gradient is written out in
    `cross_entropy`, so bfloat16 logits are never stored in float32."""
    return cross_entropy(logits_BxTxV, targets_BxT, float(label_smoothing))


def _dropout(dropout_key) -> dict:
    """`apply`'s arguments for dropout: on with a key, off without."""
    return {"deterministic": dropout_key is None, "rngs": None if dropout_key is None else {"dropout": dropout_key}}


def language_model_loss(model: GPT, config: TrainConfig):
    """`loss(params, (x_BxT, y_BxT), dropout_key)`: the mean next-token cross-entropy of a GPT
    (label-smoothed when config.label_smoothing > 0), in the configured compute dtype."""
    dtype = DTYPES[resolve_dtype(config.dtype)]

    def loss(params, batch, dropout_key=None):
        x_BxT, y_BxT = batch
        logits_BxTxV = model.apply({"params": cast_params(params, dtype)}, x_BxT, **_dropout(dropout_key))
        return token_cross_entropy(logits_BxTxV, y_BxT, config.label_smoothing).mean()

    return loss


def label_smoothed_loss(logits_BxTxV, targets_BxT, epsilon=0.1, pad_id=0):
    """Cross-entropy against (1 - eps) * one_hot + eps / V (paper section 5.4), averaged over the
    non-padding target tokens only."""
    per_token_BxT = token_cross_entropy(logits_BxTxV, targets_BxT, epsilon)
    real_BxT = targets_BxT != pad_id
    return jnp.sum(per_token_BxT * real_BxT) / jnp.maximum(jnp.sum(real_BxT), 1)


def smoothed_loss_floor(epsilon: float, vocab_size: int) -> float:
    """The least `label_smoothed_loss` can be: the entropy of the smoothed target q, reached when the
    model predicts q itself (cross-entropy H(q, p) = H(q) + KL(q || p) >= H(q)). q gives the right
    token 1 - eps + eps / V and each of the other V - 1 tokens eps / V; pads are not averaged in,
    so every scored token has the same floor and so has their mean."""
    right, other = 1.0 - epsilon + epsilon / vocab_size, epsilon / vocab_size
    return -(right * math.log(right) + (vocab_size - 1) * other * math.log(other)) if epsilon else 0.0


def seq2seq_loss(model: Transformer, config: TrainConfig):
    """`loss(params, (src_BxS, tgt_in_BxT, tgt_out_BxT), dropout_key)`: teacher forcing, label
    smoothing, pads (the model's pad_id) masked."""
    dtype = DTYPES[resolve_dtype(config.dtype)]

    def loss(params, batch, dropout_key=None):
        src_BxS, tgt_in_BxT, tgt_out_BxT = batch
        logits_BxTxV = model.apply({"params": cast_params(params, dtype)}, src_BxS, tgt_in_BxT, **_dropout(dropout_key))
        return label_smoothed_loss(logits_BxTxV, tgt_out_BxT, config.label_smoothing, model.config.pad_id)

    return loss


def packed_seq2seq_loss(model: GPT, config: TrainConfig, pad_id: int = 0):
    """`loss(params, (x_BxL, y_BxL), dropout_key)` of a GPT on packed source-target sequences: y is
    `pad_id` everywhere but the target, so `label_smoothed_loss` scores the target tokens alone,
    exactly as `seq2seq_loss` scores the encoder-decoder's."""
    dtype = DTYPES[resolve_dtype(config.dtype)]

    def loss(params, batch, dropout_key=None):
        x_BxL, y_BxL = batch
        logits_BxLxV = model.apply({"params": cast_params(params, dtype)}, x_BxL, **_dropout(dropout_key))
        return label_smoothed_loss(logits_BxLxV, y_BxL, config.label_smoothing, pad_id)

    return loss
