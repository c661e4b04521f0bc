"""The NumPy ground truth: every transformer component as a plain function, in float64.

Read this file top to bottom beside the Flax modules: each function here has a module or
function of the same name there, doing the same steps in the same order, and the tests
prove the two equal. Parameters are the nested dicts that `Module.init` returns
(`params["h_0"]["attn"]["c_attn"]["kernel"]`), so one pytree drives both.

Shapes are in the names: B batch, T time (queries), S source (keys), C channels (n_embd),
H heads, D head size (C // H), F feed-forward width, V vocabulary.
"""

from __future__ import annotations

import math

import numpy as np


def as_float64(tree):
    """A copy of a nested dict of arrays (for example Flax params) with every leaf as float64."""
    if isinstance(tree, dict):
        return {name: as_float64(leaf) for name, leaf in tree.items()}
    return np.asarray(tree, dtype=np.float64)


# ---- elementwise functions ----------------------------------------------------------------


def softmax(x, axis=-1):
    exp = np.exp(x - np.max(x, axis=axis, keepdims=True))  # subtracting the max keeps exp finite
    return exp / np.sum(exp, axis=axis, keepdims=True)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def gelu(x):
    """Exact GELU, x * Phi(x) (Hendrycks & Gimpel 2016)."""
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))


def gelu_tanh(x):
    """The tanh approximation of GELU that GPT-2 was trained with."""
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))


def relu(x):
    return np.maximum(x, 0.0)


ACTIVATIONS = {"gelu": gelu, "gelu_tanh": gelu_tanh, "relu": relu}


def linear(x_BxTxI, params):
    """x @ W + b, with W stored (in, out) like Flax's Dense and GPT-2's Conv1D."""
    y_BxTxO = x_BxTxI @ params["kernel"]  # [B, T, I] @ [I, O] -> [B, T, O]
    if "bias" in params:
        y_BxTxO = y_BxTxO + params["bias"]
    return y_BxTxO


# ---- LayerNorm (Ba et al. 2016) ------------------------------------------------------------


def layer_norm(x_BxTxC, params, epsilon=1e-5):
    """Normalise each position over its C channels, then scale and shift."""
    mean_BxTx1 = np.mean(x_BxTxC, axis=-1, keepdims=True)
    var_BxTx1 = np.mean((x_BxTxC - mean_BxTx1) ** 2, axis=-1, keepdims=True)
    xhat_BxTxC = (x_BxTxC - mean_BxTx1) / np.sqrt(var_BxTx1 + epsilon)
    y_BxTxC = xhat_BxTxC * params["scale"]
    if "bias" in params:
        y_BxTxC = y_BxTxC + params["bias"]
    return y_BxTxC


# ---- masks ---------------------------------------------------------------------------------


def causal_mask(T, S=None, offset=None):
    """[T, S] bool, True where query t may see key s: s <= offset + t.

    The T queries sit at positions offset .. offset + T - 1 of the S keys; by default they are
    the last T (offset = S - T). With a KV cache the offset is the number of cached tokens."""
    S = T if S is None else S
    offset = S - T if offset is None else offset
    return np.arange(S)[None, :] <= offset + np.arange(T)[:, None]


def padding_mask(tokens_BxS, pad_id):
    """[B, 1, 1, S] bool, True at real tokens: broadcasts over heads and queries."""
    return (np.asarray(tokens_BxS) != pad_id)[:, None, None, :]


# ---- attention (Vaswani et al. 2017, equation 1) -------------------------------------------


def attention_weights(q_BxHxTxD, k_BxHxSxD, mask=None):
    """softmax(q k^T / sqrt(D)) with masked-out scores set to the most negative number."""
    D = q_BxHxTxD.shape[-1]
    # dividing by sqrt(D) keeps the scores' variance near 1, so softmax does not saturate
    scores_BxHxTxS = np.einsum("...td,...sd->...ts", q_BxHxTxD, k_BxHxSxD) / math.sqrt(D)  # q k^T
    if mask is not None:
        # the most negative number, not -inf: a fully masked row then stays finite (uniform)
        scores_BxHxTxS = np.where(mask, scores_BxHxTxS, np.finfo(scores_BxHxTxS.dtype).min)
    return softmax(scores_BxHxTxS, axis=-1)


def attention(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask=None):
    """Scaled dot-product attention. Returns (out [..., T, D], weights [..., T, S]).

    `mask` is bool, broadcastable to [..., T, S], True where a query may attend to a key.
    Works for any leading dimensions, so a single head [T, D] is fine too.
    """
    weights_BxHxTxS = attention_weights(q_BxHxTxD, k_BxHxSxD, mask)
    out_BxHxTxD = weights_BxHxTxS @ v_BxHxSxD  # [T, S] @ [S, D] -> [T, D] for each b, h
    return out_BxHxTxD, weights_BxHxTxS


def split_heads(x_BxTxC, n_head):
    """[B, T, C] -> [B, H, T, D]: each head gets its own D = C // H channels."""
    B, T, C = x_BxTxC.shape
    return x_BxTxC.reshape(B, T, n_head, C // n_head).transpose(0, 2, 1, 3)


def merge_heads(x_BxHxTxD):
    """[B, H, T, D] -> [B, T, C]: concatenate the heads again."""
    B, H, T, D = x_BxHxTxD.shape
    return x_BxHxTxD.transpose(0, 2, 1, 3).reshape(B, T, H * D)


def multi_head_attention(
    x_BxTxC, params, n_head, context_BxSxC=None, mask=None, causal=False, rotary=False, positions_T=None
):
    """Multi-head attention: self-attention (one fused c_attn for q, k, v, as GPT-2) or, given a
    context, cross-attention (c_q from x; c_kv from the context). Returns (out [B, T, C], weights)."""
    T = x_BxTxC.shape[1]
    if context_BxSxC is None:
        qkv_BxTx3C = linear(x_BxTxC, params["c_attn"])  # [B, T, C] -> [B, T, 3C]
        q_BxTxC, k_BxSxC, v_BxSxC = np.split(qkv_BxTx3C, 3, axis=-1)
    else:
        q_BxTxC = linear(x_BxTxC, params["c_q"])  # [B, T, C] -> [B, T, C]
        kv_BxSx2C = linear(context_BxSxC, params["c_kv"])  # [B, S, C] -> [B, S, 2C]
        k_BxSxC, v_BxSxC = np.split(kv_BxSx2C, 2, axis=-1)
    q_BxHxTxD = split_heads(q_BxTxC, n_head)
    k_BxHxSxD = split_heads(k_BxSxC, n_head)
    v_BxHxSxD = split_heads(v_BxSxC, n_head)
    if rotary:
        positions_T = np.arange(T) if positions_T is None else positions_T
        q_BxHxTxD = rotary_embedding(q_BxHxTxD, positions_T)
        k_BxHxSxD = rotary_embedding(k_BxHxSxD, positions_T)
    if causal:
        S = k_BxHxSxD.shape[2]
        mask = causal_mask(T, S) if mask is None else np.logical_and(mask, causal_mask(T, S))
    out_BxHxTxD, weights_BxHxTxS = attention(q_BxHxTxD, k_BxHxSxD, v_BxHxSxD, mask)
    out_BxTxC = linear(merge_heads(out_BxHxTxD), params["c_proj"])  # [B, T, C] -> [B, T, C]
    return out_BxTxC, weights_BxHxTxS


# ---- position information ------------------------------------------------------------------


def sinusoidal_position_encoding(positions_T, n_embd):
    """PE(pos, 2i) = sin(pos / 10000^(2i/C)), PE(pos, 2i+1) = cos(pos / 10000^(2i/C)) (2017, section 3.5)."""
    channel_C = np.arange(n_embd)
    i_C = channel_C // 2  # channels 2i and 2i+1 share one frequency
    angles_TxC = np.asarray(positions_T, dtype=np.float64)[:, None] / 10000.0 ** (2 * i_C / n_embd)
    return np.where(channel_C % 2 == 0, np.sin(angles_TxC), np.cos(angles_TxC))


def rotate_half(x_BxHxTxD):
    """[x1, x2] -> [-x2, x1] on the two halves of D: a 90-degree turn of each (x1_i, x2_i) pair."""
    x1, x2 = np.split(x_BxHxTxD, 2, axis=-1)
    return np.concatenate([-x2, x1], axis=-1)


def rotary_embedding(x_BxHxTxD, positions_T, base=10000.0):
    """RoPE (Su et al. 2021), half-split layout: turn each channel pair by angle position * base^(-2i/D).

    Turning q by m*theta and k by n*theta leaves q.k depending on m - n only."""
    D = x_BxHxTxD.shape[-1]
    inv_freq_D2 = base ** (-np.arange(0, D, 2) / D)
    angles_TxD2 = np.asarray(positions_T, dtype=np.float64)[:, None] * inv_freq_D2
    angles_TxD = np.concatenate([angles_TxD2, angles_TxD2], axis=-1)
    return x_BxHxTxD * np.cos(angles_TxD) + rotate_half(x_BxHxTxD) * np.sin(angles_TxD)


# twin of positional.POSITIONS: "embedding" (positions [T], wpe's params, C) -> [T, C]; "rotary" turns q and k
POSITIONS = {
    "learned": {"embedding": lambda positions_T, wpe, C: wpe["embedding"][positions_T]},
    "sinusoidal": {"embedding": lambda positions_T, wpe, C: sinusoidal_position_encoding(positions_T, C)},
    "rotary": {"embedding": None, "rotary": True},  # positions enter through q and k only
}


# ---- position-wise feed-forward (2017, section 3.3) ----------------------------------------


def feed_forward(x_BxTxC, params, activation="gelu_tanh"):
    h_BxTxF = ACTIVATIONS[activation](linear(x_BxTxC, params["c_fc"]))  # [B, T, C] -> [B, T, F]
    return linear(h_BxTxF, params["c_proj"])  # [B, T, F] -> [B, T, C]


# ---- one transformer block -----------------------------------------------------------------


def transformer_block(
    x_BxTxC,
    params,
    n_head,
    mask=None,
    context_BxSxC=None,
    context_mask=None,
    causal=False,
    norm_first=True,
    rotary=False,
    activation="gelu_tanh",
    epsilon=1e-5,
):
    """Self-attention, optional cross-attention, feed-forward; each a residual sub-layer.

    norm_first=True is GPT-2's pre-LN, x + f(LN(x)); False is the 2017 paper's post-LN, LN(x + f(x))."""

    def residual(ln_name, sublayer, y_BxTxC):
        if norm_first:
            return y_BxTxC + sublayer(layer_norm(y_BxTxC, params[ln_name], epsilon))
        return layer_norm(y_BxTxC + sublayer(y_BxTxC), params[ln_name], epsilon)

    x_BxTxC = residual(
        "ln_1",
        lambda y: multi_head_attention(y, params["attn"], n_head, mask=mask, causal=causal, rotary=rotary)[0],
        x_BxTxC,
    )
    if context_BxSxC is not None:
        x_BxTxC = residual(
            "ln_cross_attn",
            lambda y: multi_head_attention(y, params["crossattention"], n_head, context_BxSxC, context_mask)[0],
            x_BxTxC,
        )
    return residual("ln_2", lambda y: feed_forward(y, params["mlp"], activation), x_BxTxC)


# ---- GPT-2 (Radford et al. 2019), picoGPT style ---------------------------------------------


def gpt(idx_BxT, params, config):
    """The whole decoder-only forward pass: token ids [B, T] -> logits [B, T, V].

    `params` is `GPT(config).init(...)["params"]` (as float64); `config` a `GPTConfig`."""
    idx_BxT = np.asarray(idx_BxT)
    positions_T = np.arange(idx_BxT.shape[1])
    wte_VxC = params["wte"]["embedding"]
    x_BxTxC = wte_VxC[idx_BxT]  # token embeddings
    position = POSITIONS[config.position]
    if position["embedding"] is not None:
        x_BxTxC = x_BxTxC + position["embedding"](positions_T, params.get("wpe"), config.n_embd)  # + [T, C]
    for i in range(config.n_layer):
        x_BxTxC = transformer_block(
            x_BxTxC,
            params[f"h_{i}"],
            config.n_head,
            causal=True,
            rotary=position.get("rotary", False),  # as PositionKind, False unless said
            activation=config.activation,
            epsilon=config.layer_norm_epsilon,
        )
    x_BxTxC = layer_norm(x_BxTxC, params["ln_f"], config.layer_norm_epsilon)
    return x_BxTxC @ wte_VxC.T  # weight-tied LM head: [B, T, C] @ [C, V] -> [B, T, V]


# ---- the encoder-decoder Transformer (Vaswani et al. 2017) ---------------------------------


def _embed(tokens_BxT, embedding_VxC, d_model):
    tokens_BxT = np.asarray(tokens_BxT)
    positions_TxC = POSITIONS["sinusoidal"]["embedding"](np.arange(tokens_BxT.shape[1]), None, d_model)  # section 3.5
    # section 3.4: embeddings are multiplied by sqrt(d_model) before the positions are added
    return embedding_VxC[tokens_BxT] * math.sqrt(d_model) + positions_TxC


def _target_embedding(params, config):
    return params["src_embed" if config.share_embeddings else "tgt_embed"]["embedding"]


def transformer_encode(src_BxS, params, config):
    """Source tokens [B, S] -> memory [B, S, C]; padded source positions are never attended to."""
    src_mask = padding_mask(src_BxS, config.pad_id)
    x_BxSxC = _embed(src_BxS, params["src_embed"]["embedding"], config.d_model)
    for i in range(config.n_encoder_layer):
        x_BxSxC = transformer_block(
            x_BxSxC,
            params[f"encoder_{i}"],
            config.n_head,
            mask=src_mask,
            norm_first=config.norm_first,
            activation=config.activation,
            epsilon=config.layer_norm_epsilon,
        )
    if config.norm_first:
        x_BxSxC = layer_norm(x_BxSxC, params["encoder_ln"], config.layer_norm_epsilon)
    return x_BxSxC


def transformer_decode(tgt_BxT, memory_BxSxC, src_BxS, params, config):
    """Target tokens [B, T] and encoder memory -> logits [B, T, V_tgt]."""
    src_mask = padding_mask(src_BxS, config.pad_id)
    x_BxTxC = _embed(tgt_BxT, _target_embedding(params, config), config.d_model)
    for i in range(config.n_decoder_layer):
        x_BxTxC = transformer_block(
            x_BxTxC,
            params[f"decoder_{i}"],
            config.n_head,
            context_BxSxC=memory_BxSxC,
            context_mask=src_mask,
            causal=True,
            norm_first=config.norm_first,
            activation=config.activation,
            epsilon=config.layer_norm_epsilon,
        )
    if config.norm_first:
        x_BxTxC = layer_norm(x_BxTxC, params["decoder_ln"], config.layer_norm_epsilon)
    if config.tie_output:
        return x_BxTxC @ _target_embedding(params, config).T  # [B, T, C] @ [C, V] -> [B, T, V]
    return linear(x_BxTxC, params["lm_head"])


def transformer(src_BxS, tgt_BxT, params, config):
    """Teacher-forced forward pass: logits [B, T, V_tgt] for every target position."""
    memory_BxSxC = transformer_encode(src_BxS, params, config)
    return transformer_decode(tgt_BxT, memory_BxSxC, src_BxS, params, config)
