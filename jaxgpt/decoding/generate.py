"""Autoregressive generation from a GPT: temperature, top-k, top-p, and a KV cache, all in one jit.

With the cache, one prefill call reads the prompt and stores every layer's keys and values;
each next token then costs a single position's work. Past `block_size` the context slides, as
nanoGPT crops it: the model sees only the last `block_size` tokens, which moves every position
by one at each step, so those steps recompute the window without the cache and give exactly
what the uncached computation gives.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxgpt.errors import InputError, check_int
from jaxgpt.model.gpt import GPT


def sample_logits(logits_BxV, rng, temperature=1.0, top_k=None, top_p=None):
    """One token per row from logits [B, V]. temperature=0 is greedy (argmax).

    top_k keeps the k most likely tokens; top_p keeps the smallest set of most likely tokens
    whose probabilities add up to at least p (nucleus sampling, Holtzman et al. 2019)."""
    if temperature == 0:
        return jnp.argmax(logits_BxV, axis=-1)
    logits_BxV = logits_BxV.astype(jnp.float32) / temperature
    if top_k is not None:
        kth_largest_Bx1 = jax.lax.top_k(logits_BxV, top_k)[0][:, -1:]
        logits_BxV = jnp.where(logits_BxV < kth_largest_Bx1, -jnp.inf, logits_BxV)
    if top_p is not None:
        sorted_BxV = jnp.sort(logits_BxV, axis=-1)[:, ::-1]  # most likely first
        probs_BxV = jax.nn.softmax(sorted_BxV, axis=-1)
        mass_before_BxV = jnp.cumsum(probs_BxV, axis=-1) - probs_BxV
        # keep a token while the tokens ranked above it hold less than p; the first is always kept
        kept_BxV = mass_before_BxV < top_p
        smallest_kept_Bx1 = jnp.min(jnp.where(kept_BxV, sorted_BxV, jnp.inf), axis=-1, keepdims=True)
        logits_BxV = jnp.where(logits_BxV < smallest_kept_Bx1, -jnp.inf, logits_BxV)
    return jax.random.categorical(rng, logits_BxV, axis=-1)


def check_sampling(max_new_tokens, temperature=1.0, top_k=None, top_p=None) -> None:
    """Raise ValueError, naming the value and the rule, for settings `generate` cannot use."""
    check_int("max_new_tokens", max_new_tokens, minimum=0)
    if temperature < 0:
        raise InputError(f"temperature={temperature} must be >= 0 (0 is greedy)")
    if top_k is not None and top_k < 1:
        raise InputError(f"top_k={top_k} must be >= 1")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise InputError(f"top_p={top_p} must be in (0, 1]")


def generate(model, params, prompt, max_new_tokens, *, rng, temperature=1.0, top_k=None, top_p=None, use_cache=True):
    """Continue `prompt` [B, T0] (token ids) by `max_new_tokens`; returns [B, T0 + max_new_tokens].

    `model` is a `GPT`, `params` its parameters, `rng` a `jax.random.key`. The same rng gives the
    same tokens, with or without the cache."""
    prompt_BxT0 = jnp.asarray(prompt)
    if prompt_BxT0.ndim != 2 or prompt_BxT0.shape[1] < 1 or not jnp.issubdtype(prompt_BxT0.dtype, jnp.integer):
        raise InputError(f"prompt must be integer token ids of shape (batch, length >= 1), got {prompt_BxT0.shape}")
    check_sampling(max_new_tokens, temperature, top_k, top_p)
    if top_k is not None:
        top_k = min(top_k, model.config.vocab_size)  # as nanoGPT: top_k=200 on 65 characters keeps all
    return _generate(
        model.config,
        params,
        prompt_BxT0.astype(jnp.int32),
        rng,
        max_new_tokens=max_new_tokens,
        temperature=float(temperature),
        top_k=top_k,
        top_p=top_p,
        use_cache=use_cache,
    )


@partial(jax.jit, static_argnames=("config", "max_new_tokens", "temperature", "top_k", "top_p", "use_cache"))
def _generate(config, params, prompt_BxT0, rng, *, max_new_tokens, temperature, top_k, top_p, use_cache):
    model = GPT(config)
    B, T0 = prompt_BxT0.shape
    L = T0 + max_new_tokens  # final length
    block_size = config.block_size
    # the buffer is at least one block long, so a full window can always be sliced from it
    tokens_BxL = jnp.zeros((B, max(L, block_size)), jnp.int32).at[:, :T0].set(prompt_BxT0)

    def put(tokens_BxL, p, logits_BxV):
        """Sample the token at position p from the logits that predict it."""
        token_B = sample_logits(logits_BxV, jax.random.fold_in(rng, p), temperature, top_k, top_p)
        return tokens_BxL.at[:, p].set(token_B.astype(jnp.int32))

    # cached steps can produce positions T0 .. block_size: their context still starts at 0
    n_cached = max(0, min(L - 1, block_size) - T0 + 1) if use_cache else 0
    if n_cached:
        logits_BxT0xV, variables = model.apply({"params": params}, prompt_BxT0, decode=True, mutable=["cache"])
        tokens_BxL = put(tokens_BxL, T0, logits_BxT0xV[:, -1])

        def cached_step(p, carry):  # feed token p - 1, get the logits for position p
            tokens_BxL, cache = carry
            last_Bx1 = jax.lax.dynamic_slice_in_dim(tokens_BxL, p - 1, 1, axis=1)
            logits_Bx1xV, variables = model.apply(
                {"params": params, "cache": cache}, last_Bx1, decode=True, mutable=["cache"]
            )
            return put(tokens_BxL, p, logits_Bx1xV[:, 0]), variables["cache"]

        tokens_BxL, _ = jax.lax.fori_loop(T0 + 1, T0 + n_cached, cached_step, (tokens_BxL, variables["cache"]))

    def uncached_step(p, tokens_BxL):  # run the last block_size tokens before p, as nanoGPT does
        start = jnp.maximum(0, p - block_size)
        window_BxW = jax.lax.dynamic_slice_in_dim(tokens_BxL, start, block_size, axis=1)
        logits_BxWxV = model.apply({"params": params}, window_BxW)
        # causal attention: the logits at p - 1 ignore the not-yet-written slots after it
        return put(tokens_BxL, p, jax.lax.dynamic_index_in_dim(logits_BxWxV, p - 1 - start, 1, keepdims=False))

    tokens_BxL = jax.lax.fori_loop(T0 + n_cached, L, uncached_step, tokens_BxL)
    return tokens_BxL[:, :L]
