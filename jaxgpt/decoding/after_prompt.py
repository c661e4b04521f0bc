"""Greedy decoding of a decoder-only model after prompts of different lengths, in one batch.

Each row of the batch holds its own prompt (a source and its separator, `jaxgpt.data.packed_tasks`)
and its own start: row b's next token is predicted at position start[b] + k at step k. The model is
causal, so whatever sits to the right of a position (padding, tokens not written yet) never changes
its logits: each step simply reruns the model on the whole buffer, no KV cache, no padding mask.
For the short sequences of the synthetic tasks that costs a few milliseconds.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnames=("model", "n_new"))
def greedy_after_prompt(model, params, prompt_BxP, start_B, n_new: int):
    """The `n_new` most likely tokens [B, n_new] after each row's prompt. prompt_BxP holds the
    prompts, padded; the model reads its first L = P - 1 positions (the last is room for the last
    token written). start_B is the position of each prompt's last token, with start_B + n_new <= L;
    positions are clamped to the buffer, so a row that runs out of room rewrites its last slot."""
    B, P = prompt_BxP.shape
    L = P - 1
    rows_B = jnp.arange(B)

    def step(k, tokens_BxP):
        logits_BxLxV = model.apply({"params": params}, tokens_BxP[:, :L])
        position_B = start_B + k  # the logits there predict the token at position + 1
        next_B = jnp.argmax(logits_BxLxV[rows_B, jnp.minimum(position_B, L - 1)], axis=-1)
        return tokens_BxP.at[rows_B, jnp.minimum(position_B + 1, L)].set(next_B.astype(tokens_BxP.dtype))

    tokens_BxP = jax.lax.fori_loop(0, n_new, step, prompt_BxP)
    return jnp.take_along_axis(tokens_BxP, jnp.minimum(start_B[:, None] + 1 + jnp.arange(n_new), L), axis=1)
