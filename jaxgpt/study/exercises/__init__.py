"""Self-checks for learners: write your own attention, LayerNorm, ... and `check_*` it.

Each checker runs your function and `jaxgpt.model.reference` on the same random inputs (several shapes,
masks), prints a one-line verdict and returns a `CheckResult`. When the numbers differ it names the
first case that failed, where the largest difference is, and, when your output matches one of the
classic mistakes (no 1/sqrt(D), mask after softmax, softmax over the wrong axis, LayerNorm over the
wrong axis, an off-by-one causal mask, ...), that mistake and a hint.

    from jaxgpt.study.exercises import check_attention

    def my_attention(q, k, v, mask=None):       # q [..., T, D], k and v [..., S, D], mask [..., T, S]
        ...
        return out                                # [..., T, D] (or (out, weights))

    check_attention(my_attention)

Your functions may use NumPy or jax.numpy; they get float64 NumPy arrays. Your own Flax modules
are checked the same way by `check_layer_norm_module`, `check_feed_forward_module`,
`check_attention_module` and `check_block_module` (see `jaxgpt.study.exercises.modules`), and
against jaxgpt's own modules by `check_sinusoidal_module`, `check_learned_positions_module`,
`check_cross_attention_module`, `check_post_ln_block_module` and `check_gpt_module`.
"""

from jaxgpt.study.exercises.attention import check_attention, check_causal_mask, check_multi_head_attention
from jaxgpt.study.exercises.block import check_transformer_block
from jaxgpt.study.exercises.checking import CheckResult
from jaxgpt.study.exercises.layers import check_feed_forward, check_layer_norm, check_positional_encoding
from jaxgpt.study.exercises.modules import (
    check_attention_module,
    check_block_module,
    check_feed_forward_module,
    check_layer_norm_module,
)
from jaxgpt.study.exercises.rotary import check_rotary_embedding
from jaxgpt.study.exercises.train_gpt import YourGPTRun, train_your_gpt
from jaxgpt.study.exercises.whole_modules import (
    check_cross_attention_module,
    check_gpt_module,
    check_learned_positions_module,
    check_post_ln_block_module,
    check_sinusoidal_module,
)

__all__ = [
    "CheckResult",
    "YourGPTRun",
    "check_attention",
    "check_attention_module",
    "check_block_module",
    "check_causal_mask",
    "check_cross_attention_module",
    "check_feed_forward",
    "check_feed_forward_module",
    "check_gpt_module",
    "check_learned_positions_module",
    "check_layer_norm",
    "check_layer_norm_module",
    "check_multi_head_attention",
    "check_positional_encoding",
    "check_post_ln_block_module",
    "check_rotary_embedding",
    "check_sinusoidal_module",
    "check_transformer_block",
    "train_your_gpt",
]
