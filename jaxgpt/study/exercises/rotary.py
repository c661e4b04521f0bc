"""Day 5's exercise: rotary position embeddings (RoPE, Su et al. 2021), checked against
`jaxgpt.model.reference.rotary_embedding`, with the slips a learner makes first named.

jaxgpt pairs channel i with channel i + D/2 (the half-split layout of GPT-NeoX and Hugging Face's
LLaMA) and turns pair i by the angle position * base^(-2i/D)."""

from __future__ import annotations

import numpy as np

from jaxgpt.model import reference as ref
from jaxgpt.study.exercises.checking import CheckResult, Mistake, random_generator, run_check


def _rotary_variant(interleaved=False, frequency_from_i=False, backwards=False, swap=False):
    def rotary_embedding(x_BxHxTxD, positions_T, base=10000.0):
        D = x_BxHxTxD.shape[-1]
        i_D2 = np.arange(D // 2)
        exponent_D2 = i_D2 / D if frequency_from_i else 2 * i_D2 / D
        angles_TxD2 = np.asarray(positions_T, np.float64)[:, None] * base**-exponent_D2
        cos_TxD2, sin_TxD2 = np.cos(angles_TxD2), np.sin(angles_TxD2)
        if swap:
            cos_TxD2, sin_TxD2 = sin_TxD2, cos_TxD2
        if backwards:
            sin_TxD2 = -sin_TxD2
        if interleaved:  # pairs (0, 1), (2, 3), ...
            x1, x2 = x_BxHxTxD[..., 0::2], x_BxHxTxD[..., 1::2]
        else:  # pairs (i, i + D/2)
            x1, x2 = np.split(x_BxHxTxD, 2, axis=-1)
        turned1, turned2 = x1 * cos_TxD2 - x2 * sin_TxD2, x1 * sin_TxD2 + x2 * cos_TxD2
        if interleaved:
            return np.stack([turned1, turned2], axis=-1).reshape(x_BxHxTxD.shape)
        return np.concatenate([turned1, turned2], axis=-1)

    return rotary_embedding


ROTARY_MISTAKES = [
    Mistake(
        "adjacent channels (2i, 2i+1) are turned together, the RoFormer paper's layout; jaxgpt pairs "
        "channel i with channel i + D/2.",
        "split D in two halves, x1 = x[..., :D/2] and x2 = x[..., D/2:], and turn each (x1_i, x2_i) pair "
        "(both layouts are RoPE, but weights trained with one need that one)",
        _rotary_variant(interleaved=True),
    ),
    Mistake(
        "the frequencies use base^(-i/D); pair i turns at base^(-2i/D).",
        "theta_i = base^(-2i/D) for i = 0 .. D/2 - 1: np.arange(0, D, 2) / D",
        _rotary_variant(frequency_from_i=True),
    ),
    Mistake(
        "each pair turns the wrong way (by -angle): the sin terms have the wrong signs.",
        "a turn by angle a: (x1, x2) -> (x1 cos a - x2 sin a, x1 sin a + x2 cos a)",
        _rotary_variant(backwards=True),
    ),
    Mistake(
        "cos and sin are swapped: at position 0 the vectors must come out unchanged (angle 0).",
        "x * cos(angle) + rotate_half(x) * sin(angle), rotate_half([x1, x2]) = [-x2, x1]",
        _rotary_variant(swap=True),
    ),
]


def check_rotary_embedding(rotary_embedding, verbose=True) -> CheckResult:
    """`rotary_embedding(x [B, H, T, D], positions [T]) -> [B, H, T, D]`: each channel pair
    (i, i + D/2) of each position turned by the angle position * 10000^(-2i/D)."""
    rng = random_generator(11)
    cases = [
        ("positions 0..5, D = 8", (rng.standard_normal((2, 3, 6, 8)), np.arange(6)), {}),
        ("positions 7, 30, 100, D = 16", (rng.standard_normal((1, 2, 3, 16)), np.array([7, 30, 100])), {}),
    ]
    return run_check(
        "check_rotary_embedding", rotary_embedding, ref.rotary_embedding, cases, ROTARY_MISTAKES, verbose=verbose
    )
