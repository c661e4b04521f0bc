"""Autoregressive generation from a GPT: temperature, top-k, top-p, and a KV cache, all in one jit.

With the cache, one prefill call reads the prompt and stores every layer's keys and values;
each next token then costs a single position's work. Past `block_size` the context slides, as
nanoGPT crops it: the model sees only the last `block_size` tokens, which moves every position
by one at each step, so those steps recompute the window without the cache and give exactly
what the uncached computation gives.

Each cached step reads its whole cache, so the cache grows with the text (`cache_lengths`, one
compiled loop per length) instead of starting `block_size` long; and each step updates it in
place, not in a copy (tests/test_generate.py checks the compiled loop).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from jaxgpt.errors import InputError, check_int


def sample_logits(logits_BxV, rng, temperature=1.0, top_k=None, top_p=None):
    """One token per row from logits [B, V]. temperature=0 is greedy (argmax).

    top_k keeps the k most likely tokens; top_p keeps the smallest set of most likely tokens
    whose probabilities add up to at least p (nucleus sampling, Holtzman et al. 2019)."""
    if temperature == 0:
        return jnp.argmax(logits_BxV, axis=-1)
    logits_BxV = logits_BxV.astype(jnp.float32) / temperature
    if top_k is not None:
        logits_BxV = jnp.where(logits_BxV < kth_largest(logits_BxV, top_k), -jnp.inf, logits_BxV)
    if top_p is not None:
        sorted_BxV = jnp.sort(logits_BxV, axis=-1)[:, ::-1]  # most likely first
        probs_BxV = jax.nn.softmax(sorted_BxV, axis=-1)
        mass_before_BxV = jnp.cumsum(probs_BxV, axis=-1) - probs_BxV
        # keep a token while the tokens ranked above it hold less than p; the first is always kept
        kept_BxV = mass_before_BxV < top_p
        smallest_kept_Bx1 = jnp.min(jnp.where(kept_BxV, sorted_BxV, jnp.inf), axis=-1, keepdims=True)
        logits_BxV = jnp.where(logits_BxV < smallest_kept_Bx1, -jnp.inf, logits_BxV)
    return jax.random.categorical(rng, logits_BxV, axis=-1)


def kth_largest(x_BxV, k):
    """[B, 1]: the k-th largest value of each row, `jax.lax.top_k(x_BxV, k)[0][:, -1:]`, without a sort.

    XLA:CPU computes top_k by sorting the whole row (~8 ms a token on GPT-2's 50257 logits). Here
    floats map to unsigned integers in the same order (negatives have all bits flipped, positives
    only the sign bit) and the answer, the largest integer t with at least k entries >= t, is set
    bit by bit from the highest: 32 counting passes over the row."""
    bits_BxV = jax.lax.bitcast_convert_type(x_BxV.astype(jnp.float32), jnp.uint32)
    negative_BxV = bits_BxV >> 31 == 1
    ordered_BxV = jnp.where(negative_BxV, ~bits_BxV, bits_BxV | jnp.uint32(1 << 31))

    def set_bit_if_k_remain(i, t_Bx1):
        candidate_Bx1 = t_Bx1 | jax.lax.shift_left(jnp.uint32(1), jnp.uint32(31 - i))
        at_least_k_Bx1 = jnp.sum(ordered_BxV >= candidate_Bx1, axis=-1, keepdims=True) >= k
        return jnp.where(at_least_k_Bx1, candidate_Bx1, t_Bx1)

    t_Bx1 = jax.lax.fori_loop(0, 32, set_bit_if_k_remain, jnp.zeros((x_BxV.shape[0], 1), jnp.uint32))
    bits_Bx1 = jnp.where(t_Bx1 >> 31 == 1, t_Bx1 & jnp.uint32((1 << 31) - 1), ~t_Bx1)
    return jax.lax.bitcast_convert_type(bits_Bx1, jnp.float32).astype(x_BxV.dtype)


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
    same tokens, with or without the cache. Any causal model with a `config` (a GPTConfig) runs
    with `use_cache=False`: a learner's own GPT (jaxgpt.study.exercises.train_your_gpt) samples so."""
    prompt_BxT0 = jnp.asarray(prompt)
    if prompt_BxT0.ndim != 2 or prompt_BxT0.shape[1] < 1 or not jnp.issubdtype(prompt_BxT0.dtype, jnp.integer):
        raise InputError(f"prompt must be integer token ids of shape (batch, length >= 1), got {prompt_BxT0.shape}")
    settings = _settings(model, max_new_tokens, temperature, top_k, top_p, use_cache)
    return _generate(model, params, prompt_BxT0.astype(jnp.int32), rng, **settings)


def lower_generate(model, params, prompt_shape, max_new_tokens, *, temperature=1.0, top_k=None, top_p=None):
    """`generate`'s program for `params` (arrays, or their jax.ShapeDtypeStruct) and a prompt of
    `prompt_shape`, lowered: compile it ahead (e.g. on another thread, while training runs) and
    the `generate` call with those shapes and settings finds it compiled."""
    settings = _settings(model, max_new_tokens, temperature, top_k, top_p, use_cache=True)
    prompt = jax.ShapeDtypeStruct(prompt_shape, jnp.int32)
    return _generate.lower(model, params, prompt, jax.eval_shape(jax.random.key, 0), **settings)


def _settings(model, max_new_tokens, temperature, top_k, top_p, use_cache) -> dict:
    """The static arguments of the compiled sampler, checked."""
    check_sampling(max_new_tokens, temperature, top_k, top_p)
    if top_k is not None and top_k >= model.config.vocab_size:
        top_k = None  # as nanoGPT: top_k=200 on 65 characters keeps all
    return dict(
        max_new_tokens=max_new_tokens, temperature=float(temperature), top_k=top_k, top_p=top_p, use_cache=use_cache
    )


MIN_CACHE_LENGTH = 64  # shorter caches save too little reading to pay for compiling their loop


def cache_lengths(block_size):
    """The lengths the KV cache grows through while generating: block_size / 8, / 4, / 2, block_size,
    none shorter than MIN_CACHE_LENGTH (block_size 64: one length; 1024: 128, 256, 512, 1024).

    Each length is one more compiled loop; the shorter caches make the early steps read less."""
    lengths = {-(-block_size // 2**i) for i in range(4)}  # rounded up
    return sorted({length for length in lengths if length >= MIN_CACHE_LENGTH} or {block_size})


def resize_cache(cache, length):
    """`cache` (a GPT's "cache" collection) with room for `length` tokens: the cached keys and
    values [B * H, L, D] cut to their first `length` slots, or padded with empty ones."""

    def resize(path, x_BHxLxD):
        if path[-1].key not in ("cached_key", "cached_value"):
            return x_BHxLxD  # the position counters
        L = x_BHxLxD.shape[1]
        return x_BHxLxD[:, :length] if length <= L else jnp.pad(x_BHxLxD, ((0, 0), (0, length - L), (0, 0)))

    return jax.tree_util.tree_map_with_path(resize, cache)


@partial(jax.jit, static_argnames=("model", "max_new_tokens", "temperature", "top_k", "top_p", "use_cache"))
def _generate(model, params, prompt_BxT0, rng, *, max_new_tokens, temperature, top_k, top_p, use_cache):
    B, T0 = prompt_BxT0.shape
    L = T0 + max_new_tokens  # final length
    block_size = model.config.block_size
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

        # every step reads its whole cache, so the cache grows with the text instead of starting
        # block_size long: step p needs p slots (tokens 0 .. p - 1)
        p, cache = T0 + 1, variables["cache"]
        for length in cache_lengths(block_size):
            stop = min(length + 1, T0 + n_cached)
            if stop > p:
                carry = (tokens_BxL, resize_cache(cache, length))
                tokens_BxL, cache = jax.lax.fori_loop(p, stop, cached_step, carry)
                p = stop

    def uncached_step(p, tokens_BxL):  # run the last block_size tokens before p, as nanoGPT does
        start = jnp.maximum(0, p - block_size)
        window_BxW = jax.lax.dynamic_slice_in_dim(tokens_BxL, start, block_size, axis=1)
        logits_BxWxV = model.apply({"params": params}, window_BxW)
        # causal attention: the logits at p - 1 ignore the not-yet-written slots after it
        return put(tokens_BxL, p, jax.lax.dynamic_index_in_dim(logits_BxWxV, p - 1 - start, 1, keepdims=False))

    tokens_BxL = jax.lax.fori_loop(T0 + n_cached, L, uncached_step, tokens_BxL)
    return tokens_BxL[:, :L]
