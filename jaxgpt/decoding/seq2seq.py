"""Decoding the encoder-decoder Transformer: greedy and beam search, jitted, with a decoder KV cache.

The encoder reads the source once; the decoder then writes the target one token at a time from
`bos_id` until `eos_id`, feeding one token per step through its cache (cross-attention's keys and
values of the memory are projected at the first step and reused). Like `generate`, every decoder
takes the model and its parameters."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxgpt.model.config import TransformerConfig
from jaxgpt.model.transformer import Transformer


def decoder_step(model: Transformer, params, cache, token_Bx1, memory_BxSxC, src_BxS, t):
    """One cached decoder step: the token at position t in, next-token logits [B, V] and the
    updated cache out. cache=None creates the cache (and projects the memory's keys and values)."""
    variables = {"params": params} if cache is None else {"params": params, "cache": cache}
    logits_Bx1xV, updated = model.apply(
        variables,
        token_Bx1,
        memory_BxSxC,
        src_BxS,
        decode=True,
        offset=t,
        mutable=["cache"],
        method=Transformer.decode,
    )
    return logits_Bx1xV[:, 0], updated["cache"]


def greedy_decode(model: Transformer, params, src_BxS, max_len: int, *, bos_id: int, eos_id: int, use_cache=True):
    """The most likely next token, step by step: target ids [B, max_len] (`eos_id`, then pads once
    done), starting from `bos_id`. With the cache each step feeds one token; without it each step
    reruns the decoder on the whole prefix. The encoder runs once either way."""
    return _greedy_decode(model.config, params, src_BxS, max_len, bos_id, eos_id, use_cache)


@partial(jax.jit, static_argnames=("config", "max_len", "bos_id", "eos_id", "use_cache"))
def _greedy_decode(config: TransformerConfig, params, src_BxS, max_len, bos_id, eos_id, use_cache):
    model, pad_id = Transformer(config), config.pad_id
    B = src_BxS.shape[0]
    memory_BxSxC = model.apply({"params": params}, src_BxS, method=Transformer.encode)
    tokens_BxL = jnp.full((B, max_len + 1), pad_id, jnp.int32).at[:, 0].set(bos_id)  # bos_id, then the outputs

    def choose(tokens_BxL, t, logits_BxV, done_B):
        token_B = jnp.where(done_B, pad_id, jnp.argmax(logits_BxV, axis=-1))
        return tokens_BxL.at[:, t + 1].set(token_B), done_B | (token_B == eos_id)

    if use_cache:

        def body(t, carry):  # feed token t, choose token t + 1
            tokens_BxL, cache, done_B = carry
            token_Bx1 = jax.lax.dynamic_slice_in_dim(tokens_BxL, t, 1, axis=1)
            logits_BxV, cache = decoder_step(model, params, cache, token_Bx1, memory_BxSxC, src_BxS, t)
            tokens_BxL, done_B = choose(tokens_BxL, t, logits_BxV, done_B)
            return tokens_BxL, cache, done_B

        # the first step creates the cache, projecting the memory's keys and values once for all steps
        logits_BxV, cache = decoder_step(model, params, None, tokens_BxL[:, :1], memory_BxSxC, src_BxS, 0)
        tokens_BxL, done_B = choose(tokens_BxL, 0, logits_BxV, jnp.zeros((B,), bool))
        tokens_BxL, _, _ = jax.lax.fori_loop(1, max_len, body, (tokens_BxL, cache, done_B))
    else:

        def body(t, carry):
            tokens_BxL, done_B = carry
            logits_BxLxV = model.apply(
                {"params": params}, tokens_BxL[:, :-1], memory_BxSxC, src_BxS, method=Transformer.decode
            )
            # causal: the logits at t ignore the not-yet-written slots after it
            return choose(tokens_BxL, t, jax.lax.dynamic_index_in_dim(logits_BxLxV, t, 1, False), done_B)

        tokens_BxL, _ = jax.lax.fori_loop(0, max_len, body, (tokens_BxL, jnp.zeros((B,), bool)))
    return tokens_BxL[:, 1:]


def length_penalty(length, alpha):
    """GNMT's ((5 + length) / 6) ** alpha (Wu et al. 2016): alpha 0 ranks by total log-probability."""
    return ((5.0 + length) / 6.0) ** alpha


def beam_search(model: Transformer, params, src_BxS, max_len: int, *, bos_id: int, eos_id: int, beam_size=4, alpha=0.6):
    """Keep the `beam_size` most likely partial targets per source; return the best finished one
    by log-probability / length_penalty: target ids [B, max_len].

    A beam that has produced `eos_id` is finished: it continues with pads at no cost and keeps its
    score. The encoder runs once per source and the memory's keys and values are projected once."""
    return _beam_search(model.config, params, src_BxS, max_len, bos_id, eos_id, beam_size, alpha)


@partial(jax.jit, static_argnames=("config", "max_len", "bos_id", "eos_id", "beam_size", "alpha"))
def _beam_search(config: TransformerConfig, params, src_BxS, max_len, bos_id, eos_id, beam_size, alpha):
    model, pad_id = Transformer(config), config.pad_id
    B, K = src_BxS.shape[0], beam_size
    memory_BxSxC = model.apply({"params": params}, src_BxS, method=Transformer.encode)
    # every beam of a source reads the same memory: flatten (source, beam) into one batch axis
    src_BKxS = jnp.repeat(src_BxS, K, axis=0)
    memory_BKxSxC = jnp.repeat(memory_BxSxC, K, axis=0)
    tokens_BxKxL = jnp.full((B, K, max_len + 1), pad_id, jnp.int32).at[:, :, 0].set(bos_id)
    # only beam 0 is alive at first, so the first step does not pick K copies of one token
    scores_BxK = jnp.tile(jnp.array([0.0] + [-jnp.inf] * (K - 1)), (B, 1))
    done_BxK = jnp.zeros((B, K), bool)
    lengths_BxK = jnp.zeros((B, K), jnp.int32)

    def step(t, carry):
        tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, cache = carry
        last_BKx1 = jax.lax.dynamic_slice_in_dim(tokens_BxKxL, t, 1, axis=2).reshape(B * K, 1)
        logits_BKxV, cache = decoder_step(model, params, cache, last_BKx1, memory_BKxSxC, src_BKxS, t)
        V = logits_BKxV.shape[-1]
        log_probs_BxKxV = jax.nn.log_softmax(logits_BKxV.astype(jnp.float32)).reshape(B, K, V)
        # a finished beam may only add a pad, at no cost
        pad_only_V = jnp.full((V,), -jnp.inf).at[pad_id].set(0.0)
        log_probs_BxKxV = jnp.where(done_BxK[..., None], pad_only_V, log_probs_BxKxV)
        candidates_BxKV = (scores_BxK[..., None] + log_probs_BxKxV).reshape(B, K * V)
        scores_BxK, flat_BxK = jax.lax.top_k(candidates_BxKV, K)
        beam_BxK, token_BxK = flat_BxK // V, flat_BxK % V
        # follow each survivor's parent: its tokens, state and cache rows
        take = lambda a_BxK_: jnp.take_along_axis(a_BxK_, beam_BxK.reshape(B, K, *[1] * (a_BxK_.ndim - 2)), axis=1)
        tokens_BxKxL = take(tokens_BxKxL).at[:, :, t + 1].set(token_BxK)
        parent_done_BxK = take(done_BxK)
        lengths_BxK = take(lengths_BxK) + (~parent_done_BxK).astype(jnp.int32)
        done_BxK = parent_done_BxK | (token_BxK == eos_id)
        rows_BK = (jnp.arange(B)[:, None] * K + beam_BxK).reshape(B * K)

        def follow(c):  # a cache array's leading axis holds the B * K sequences in order, one row
            # each (the memory's keys and values) or H rows each (the KV cache [B * K * H, L, D])
            return c.reshape(B * K, -1, *c.shape[1:])[rows_BK].reshape(c.shape) if c.ndim > 0 else c

        cache = jax.tree.map(follow, cache)
        return tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, cache

    carry = step(0, (tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, None))  # creates the cache
    tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, _ = jax.lax.fori_loop(1, max_len, step, carry)
    normalized_BxK = scores_BxK / length_penalty(lengths_BxK.astype(jnp.float32), alpha)
    best_B = jnp.argmax(normalized_BxK, axis=1)
    return jnp.take_along_axis(tokens_BxKxL, best_B[:, None, None], axis=1)[:, 0, 1:]
