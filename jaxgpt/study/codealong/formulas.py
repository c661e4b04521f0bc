"""The video's modules as NumPy formulas over a parameter dict (the Flax modules' tree): what the
tests hold the Flax modules to, and what the checkers compute the classic slips from. The keyword
flags switch on one slip each; left at their defaults, each function is the video's module."""

from __future__ import annotations

import numpy as np

from jaxgpt.model import reference as ref


def linear(x, params):
    return x @ params["kernel"] + params["bias"] if "bias" in params else x @ params["kernel"]


def head(params, x_BxTxC, scale="head_size", mask="causal", softmax_axis=-1):
    """softmax(q kᵀ / sqrt(D), masked causally) v: x [B, T, C] -> [B, T, D].
    scale: "head_size" (right), "n_embd" (1/sqrt(C)) or None; mask: "causal", "future" (triu) or None."""
    k_BxTxD, q_BxTxD, v_BxTxD = (linear(x_BxTxC, params[name]) for name in ("key", "query", "value"))
    T, D, C = x_BxTxC.shape[1], k_BxTxD.shape[-1], x_BxTxC.shape[-1]
    wei_BxTxT = q_BxTxD @ np.swapaxes(k_BxTxD, -1, -2) * {"head_size": D**-0.5, "n_embd": C**-0.5, None: 1.0}[scale]
    if mask is not None:
        allowed_TxT = np.tril(np.ones((T, T), bool)) if mask == "causal" else np.triu(np.ones((T, T), bool))
        wei_BxTxT = np.where(allowed_TxT, wei_BxTxT, -np.inf)
    return ref.softmax(wei_BxTxT, axis=softmax_axis) @ v_BxTxD


def multi_head(params, x_BxTxC, **slips):
    """The heads `heads_0` ... side by side [B, T, H * D], then `proj` when params hold one."""
    heads = sorted((name for name in params if name.startswith("heads_")), key=lambda name: int(name[6:]))
    out_BxTxHD = np.concatenate([head(params[name], x_BxTxC, **slips) for name in heads], axis=-1)
    return linear(out_BxTxHD, params["proj"]) if "proj" in params else out_BxTxHD


def feed_foward(params, x_BxTxC, relu=True, relu_at_the_end=False):
    """relu(x W0 + b0), then (W2, b2) when params hold `net_2`: x [B, T, C] -> [B, T, C]."""
    act = ref.relu if relu else (lambda h: h)
    h = act(linear(x_BxTxC, params["net_0"]))
    if "net_2" not in params:
        return h
    out_BxTxC = linear(h, params["net_2"])
    return ref.relu(out_BxTxC) if relu_at_the_end else out_BxTxC


def block(params, x_BxTxC, config, post_ln=False, ffwd_residual=True, normalise_stream=False):
    """sa then ffwd, each x + f(ln(x)) with config.residual and config.layernorm, else f(x)."""
    sublayers = [("ln1", lambda y: multi_head(params["sa"], y))]
    if config.ffwd:
        sublayers.append(("ln2", lambda y: feed_foward(params["ffwd"], y)))
    for i, (ln, f) in enumerate(sublayers):
        norm = (lambda y: ref.layer_norm(y, params[ln])) if config.layernorm else (lambda y: y)
        residual = config.residual and (ffwd_residual or i == 0)
        if post_ln:
            x_BxTxC = norm(x_BxTxC + f(x_BxTxC)) if residual else norm(f(x_BxTxC))
        elif normalise_stream:
            x_BxTxC = norm(x_BxTxC)
            x_BxTxC = x_BxTxC + f(x_BxTxC) if residual else f(x_BxTxC)
        else:
            x_BxTxC = x_BxTxC + f(norm(x_BxTxC)) if residual else f(norm(x_BxTxC))
    return x_BxTxC


def gpt_language_model(params, idx_BxT, config):
    """Embeddings, the blocks, ln_f, lm_head: idx [B, T] -> logits [B, T, V]."""
    T = idx_BxT.shape[1]
    x_BxTxC = (
        params["token_embedding_table"]["embedding"][idx_BxT] + params["position_embedding_table"]["embedding"][:T]
    )
    for i in range(config.n_layer):
        x_BxTxC = block(params[f"blocks_{i}"], x_BxTxC, config)
    if config.layernorm:
        x_BxTxC = ref.layer_norm(x_BxTxC, params["ln_f"])
    return linear(x_BxTxC, params["lm_head"])


def bigram(params, idx_BxT, transposed=False):
    """Row idx of the [V, V] table (its column, with the slip `transposed`): idx [B, T] -> [B, T, V]."""
    table_VxV = params["token_embedding_table"]["embedding"]
    return (table_VxV.T if transposed else table_VxV)[idx_BxT]
