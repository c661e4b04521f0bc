"""The classic slips of the code-along, each with the verdict a checker gives when your output
matches it: what a wrong implementation computes, from the same arguments as the right one."""

from __future__ import annotations

import numpy as np

from jaxgpt.model import reference as ref
from jaxgpt.study.codealong import formulas
from jaxgpt.study.exercises.checking import Mistake


def _average(x_BxTxC, allowed_TxT, normalise=True, axis=-1):
    wei_TxT = ref.softmax(np.where(allowed_TxT, 0.0, -np.inf), axis=axis) if normalise else allowed_TxT * 1.0
    return wei_TxT @ x_BxTxC


def _tril(x_BxTxC):
    return np.tril(np.ones((x_BxTxC.shape[1],) * 2, bool))


AVERAGING_SLIPS = [
    Mistake(
        "each position averages all T positions, the future included.",
        "keep only the past: wei = tril(ones(T, T)), each row then divided by its sum",
        lambda x: _average(x, np.ones((x.shape[1],) * 2, bool)),
    ),
    Mistake(
        "each position sums the past instead of averaging it.",
        "divide each row of tril(ones(T, T)) by its sum (or softmax the masked zeros)",
        lambda x: _average(x, _tril(x), normalise=False),
    ),
    Mistake(
        "each position averages itself and the future (triu), not the past (tril).",
        "the lower triangle holds each position's past: wei = tril(ones(T, T))",
        lambda x: _average(x, _tril(x).T),
    ),
    Mistake(
        "the weights sum to 1 down each column, not along each row (softmax over axis 0).",
        "row t holds position t's weights: softmax over the last axis",
        lambda x: _average(x, _tril(x), axis=0),
    ),
]

BIGRAM_SLIPS = [
    Mistake(
        "your logits are columns of the table, not rows.",
        "row idx of token_embedding_table holds the logits of the character after idx: table[idx]",
        lambda params, idx: formulas.bigram(params, np.asarray(idx), transposed=True),
    )
]


def head_slips(formula):
    """The slips of one head, for `formula` (formulas.head or formulas.multi_head)."""

    def slip(**kwargs):
        return lambda params, x: formula(params, np.asarray(x, np.float64), **kwargs)

    return [
        Mistake(
            "the scores are not scaled: q kᵀ without * head_size**-0.5.",
            "wei = q @ kᵀ * head_size**-0.5: unscaled, the scores' variance grows with D and softmax saturates",
            slip(scale=None),
        ),
        Mistake(
            "the scores are scaled by 1/sqrt(C), n_embd, as in the video's first take, not by 1/sqrt(head_size).",
            "scale by the size of q and k: k.shape[-1]**-0.5, the head size",
            slip(scale="n_embd"),
        ),
        Mistake(
            "the head is not causal: each position also attends to the future.",
            "set the scores above the diagonal to -inf before the softmax: where(tril(ones(T, T)), wei, -inf)",
            slip(mask=None),
        ),
        Mistake(
            "the head attends to the future (triu) instead of the past (tril).",
            "keep the lower triangle: where(tril(ones(T, T)), wei, -inf)",
            slip(mask="future"),
        ),
        Mistake(
            "the softmax runs over the queries (axis -2), not the keys (the last axis).",
            "each row of wei is one position's weights over the keys: softmax(wei, axis=-1)",
            slip(softmax_axis=-2),
        ),
    ]


def ffwd_slips():
    def slip(**kwargs):
        return lambda params, x: formulas.feed_foward(params, np.asarray(x, np.float64), **kwargs)

    return [
        Mistake("there is no ReLU after net_0.", "nn.relu between the two linear layers", slip(relu=False)),
        Mistake(
            "there is a ReLU after net_2 too.",
            "the video's net is Linear, ReLU, Linear (and Dropout): no activation at the end",
            slip(relu_at_the_end=True),
        ),
    ]


def block_slips(config):
    def slip(**kwargs):
        return lambda params, x: formulas.block(params, np.asarray(x, np.float64), config, **kwargs)

    slips = [
        Mistake(
            "this is the 2017 paper's post-LN order, ln(x + f(x)); the video normalises first: x + f(ln(x)).",
            "x = x + self.sa(self.ln1(x)); x = x + self.ffwd(self.ln2(x))",
            slip(post_ln=True),
        ),
        Mistake(
            "the stream itself is normalised (x = ln(x), then x + f(x)); only the sublayer's input should be.",
            "x = x + self.sa(self.ln1(x)): the residual stream goes around the LayerNorm",
            slip(normalise_stream=True),
        ),
    ]
    if config.residual:
        slips.append(
            Mistake(
                "the feed-forward has no residual connection.",
                "x = x + self.ffwd(...): the block adds to the residual stream, it does not replace it",
                slip(ffwd_residual=False),
            )
        )
    return slips if config.layernorm else slips[2:]
