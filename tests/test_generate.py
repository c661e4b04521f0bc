"""Generation: the KV cache against full recomputation, sliding past block_size, sampling filters,
and a decode loop that updates its cache in place."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, randomise

from jaxgpt import GPT, GPTConfig
from jaxgpt.decoding.generate import _generate, generate, kth_largest, sample_logits

BASE = dict(vocab_size=29, block_size=12, n_layer=2, n_head=2, n_embd=16)
CONFIGS = {
    "learned": GPTConfig(**BASE),
    "rotary": GPTConfig(**BASE, position="rotary", attention_impl="xla"),
    "sinusoidal": GPTConfig(**BASE, position="sinusoidal", bias=False),
}
PROMPT = jnp.array([[3, 14, 15, 9, 2], [6, 5, 3, 5, 8]])


@pytest.fixture(scope="module", params=list(CONFIGS))
def model_and_params(request):
    model = GPT(CONFIGS[request.param])
    # larger weights than GPT-2's init make the logits sharp, so greedy choices are not near-ties
    params = randomise(jax.jit(model.init)(jax.random.key(0), PROMPT)["params"], scale=0.5)
    return model, params


def test_cached_logits_equal_full_recomputation_at_every_step(model_and_params):
    model, params = model_and_params
    tokens = np.asarray(jax.random.randint(jax.random.key(1), (2, 12), 0, 29))
    prefill = jax.jit(lambda prompt: model.apply({"params": params}, prompt, decode=True, mutable=["cache"]))
    logits, variables = prefill(tokens[:, :4])
    full = jax.jit(model.apply)({"params": params}, tokens)
    assert_close(logits, full[:, :4], tol=1e-5)
    step = jax.jit(
        lambda cache, token: model.apply({"params": params, "cache": cache}, token, decode=True, mutable=["cache"])
    )
    cache = variables["cache"]
    for t in range(4, 12):
        logits, variables = step(cache, tokens[:, t : t + 1])
        cache = variables["cache"]
        # without the cache: the whole prefix, which must agree at its last position
        assert_close(logits[:, 0], full[:, t], tol=1e-5)


def naive_greedy(model, params, prompt, max_new_tokens):
    """nanoGPT's generate loop: crop to block_size, full forward, argmax, append."""
    idx = np.asarray(prompt)
    forward = jax.jit(model.apply)
    for _ in range(max_new_tokens):
        logits = forward({"params": params}, idx[:, -model.config.block_size :])
        idx = np.concatenate([idx, np.asarray(jnp.argmax(logits[:, -1], axis=-1))[:, None]], axis=1)
    return idx


def test_greedy_equals_nanogpt_loop_with_and_without_cache_past_block_size(model_and_params):
    model, params = model_and_params
    n = 15  # 5 + 15 = 20 tokens > block_size 12: the context slides
    expected = naive_greedy(model, params, PROMPT, n)
    cached = generate(model, params, PROMPT, n, rng=jax.random.key(0), temperature=0.0)
    uncached = generate(model, params, PROMPT, n, rng=jax.random.key(0), temperature=0.0, use_cache=False)
    np.testing.assert_array_equal(cached, expected)
    np.testing.assert_array_equal(uncached, expected)


def test_sampling_with_a_seed_is_repeatable_and_cache_independent(model_and_params):
    model, params = model_and_params
    # 5 + 9 tokens: the last two steps slide past block_size 12
    run = lambda seed, cache: generate(model, params, PROMPT, 9, rng=jax.random.key(seed), top_k=10, use_cache=cache)
    np.testing.assert_array_equal(run(7, True), run(7, True))
    np.testing.assert_array_equal(run(7, True), run(7, False))
    assert not np.array_equal(run(7, True), run(8, True))
    np.testing.assert_array_equal(run(7, True)[:, :5], PROMPT)


def test_a_prompt_longer_than_block_size_is_cropped():
    model = GPT(CONFIGS["learned"])
    params = jax.jit(model.init)(jax.random.key(0), PROMPT)["params"]
    long_prompt = jnp.tile(PROMPT, (1, 3))  # 15 tokens
    out = generate(model, params, long_prompt, 4, rng=jax.random.key(0), temperature=0.0)
    np.testing.assert_array_equal(out, naive_greedy(model, params, long_prompt, 4))


def test_zero_new_tokens_returns_the_prompt():
    model = GPT(CONFIGS["learned"])
    params = jax.jit(model.init)(jax.random.key(0), PROMPT)["params"]
    np.testing.assert_array_equal(generate(model, params, PROMPT, 0, rng=jax.random.key(0)), PROMPT)


@pytest.mark.parametrize(
    "kwargs,message",
    [
        (dict(max_new_tokens=-1), "max_new_tokens=-1 must be an integer >= 0"),
        (dict(temperature=-0.5), "temperature=-0.5 must be >= 0"),
        (dict(top_k=0), "top_k=0 must be >= 1"),
        (dict(top_p=1.5), r"top_p=1.5 must be in \(0, 1\]"),
    ],
)
def test_bad_generation_arguments_are_clear_errors(kwargs, message):
    model = GPT(CONFIGS["learned"])
    arguments = dict(max_new_tokens=3) | kwargs
    with pytest.raises(ValueError, match=message):
        generate(model, {}, PROMPT, arguments.pop("max_new_tokens"), rng=jax.random.key(0), **arguments)


LOGITS = jnp.log(jnp.array([[0.05, 0.4, 0.1, 0.3, 0.15]]))  # probabilities, ranked: 1, 3, 4, 2, 0


def draw(n, **kwargs):
    keys = jax.random.split(jax.random.key(0), n)
    return set(np.asarray(jax.vmap(lambda k: sample_logits(LOGITS, k, **kwargs))(keys)).ravel().tolist())


def test_top_k_never_emits_an_excluded_token():
    assert draw(2000, top_k=2) == {1, 3}
    assert draw(2000, top_k=1) == {1}


def test_top_p_keeps_the_smallest_set_reaching_p():
    assert draw(2000, top_p=0.6) == {1, 3}  # 0.4 < 0.6, 0.4 + 0.3 >= 0.6
    assert draw(2000, top_p=0.3) == {1}  # the most likely token is always kept
    assert draw(4000, top_p=0.8) == {1, 3, 4}
    assert draw(4000, top_p=1.0) == {0, 1, 2, 3, 4}


def test_temperature_zero_is_argmax():
    assert draw(10, temperature=0.0) == {1}


def test_kth_largest_equals_top_k_with_ties_and_infinities():
    x = np.random.default_rng(0).normal(size=(4, 50)).astype(np.float32)
    x[0] = np.round(x[0])  # ties
    x[1, ::4] = -np.inf
    x[2, ::5], x[2, 1::5] = 0.0, -0.0
    x[3] *= 1e-40  # subnormal numbers
    for dtype in (jnp.float32, jnp.bfloat16):
        for k in (1, 7, 50):
            x_BxV = jnp.asarray(x, dtype)
            np.testing.assert_array_equal(kth_largest(x_BxV, k), jax.lax.top_k(x_BxV, k)[0][:, -1:])


def loop_bodies(hlo_text):
    """{first line of each compiled while loop's body (its name and carried types): the shapes, like
    'f32[2,12,8]', of the `copy` instructions in it}, from compiled HLO text."""
    names = set(re.findall(r"while\(.*?body=%?([\w.\-]+)", hlo_text))
    bodies, header = {}, None
    for line in hlo_text.splitlines():
        if not line.startswith(" "):  # a computation's first line, or its closing brace
            name = re.match(r"(?:ENTRY )?%?([\w.\-]+)", line)
            header = line if name and name.group(1) in names else None
            if header:
                bodies[header] = []
        elif header and (copy := re.search(r"= (\w+\[[\d,]*\])\S* copy\(", line)):
            bodies[header].append(copy.group(1))
    return bodies


@pytest.mark.parametrize("batch", [1, 2])
def test_the_decode_loop_copies_neither_the_kv_cache_nor_the_tokens(batch):
    # XLA:CPU copies a loop's carried array at every step when it cannot prove an in-place update
    # safe; copying every layer's KV cache at each step made cached generation ~1.5x slower.
    # Batch 1 and 2 copied for different reasons (a reshape dropping the size-1 batch axis, or one
    # between the cache's layout and the attention matmuls), so both are checked.
    config = GPTConfig(**BASE | dict(n_layer=1))
    prompt_Bx6 = jnp.zeros((batch, 6), jnp.int32)  # then 5 cached steps, in one loop, up to block_size 12
    params = jax.eval_shape(lambda: GPT(config).init(jax.random.key(0), prompt_Bx6)["params"])
    sampling = dict(max_new_tokens=6, temperature=1.0, top_k=5, top_p=None, use_cache=True)
    hlo_text = _generate.lower(GPT(config), params, prompt_Bx6, jax.random.key(0), **sampling).compile().as_text()
    bodies = loop_bodies(hlo_text)
    tokens = f"s32[{batch},12]"  # the tokens buffer, carried by the decode loop only
    assert [header for header in bodies if tokens in header], "the decode loop is missing from the HLO"
    # the cache (and every activation) is float32; copies of loop counters and RNG state are cheap
    copied = [shape for shapes in bodies.values() for shape in shapes if shape.startswith("f32") or shape == tokens]
    assert copied == []
