"""The encoder-decoder Transformer against the NumPy reference, and its source padding."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, f64, randomise

from jaxgpt import Transformer, TransformerConfig, reference

SMALL = dict(
    src_vocab_size=23,
    tgt_vocab_size=19,
    block_size=16,
    n_encoder_layer=2,
    n_decoder_layer=2,
    n_head=3,
    d_model=15,
    d_ff=22,
    dropout=0.0,
)
CONFIGS = {
    "post-ln": TransformerConfig(**SMALL),
    "pre-ln-untied": TransformerConfig(**SMALL, norm_first=True, tie_output=False),
    "shared": TransformerConfig(**{**SMALL, "tgt_vocab_size": 23}, share_embeddings=True, activation="gelu"),
}
# source 0 has three padded positions (pad_id 0); target 0 has two
SRC = jnp.array([[4, 9, 2, 11, 5, 0, 0, 0], [3, 3, 7, 1, 8, 2, 6, 10]])
TGT = jnp.array([[1, 6, 2, 13, 0, 0], [1, 5, 5, 9, 12, 3]])


@pytest.fixture(scope="module", params=list(CONFIGS))
def model_and_params(request):
    model = Transformer(CONFIGS[request.param])
    params = randomise(jax.jit(model.init)(jax.random.key(0), SRC, TGT)["params"], scale=0.2)
    return model, params, jax.jit(lambda p, src, tgt: model.apply({"params": p}, src, tgt))


def test_transformer_equals_reference(model_and_params):
    model, params, forward = model_and_params
    logits = forward(params, SRC, TGT)
    assert logits.shape == (2, 6, model.config.tgt_vocab_size)
    assert_close(logits, reference.transformer(np.asarray(SRC), np.asarray(TGT), f64(params), model.config), tol=1e-4)


def test_encode_then_decode_equals_call(model_and_params):
    model, params, forward = model_and_params
    apply = jax.jit(model.apply, static_argnames="method")
    memory = apply({"params": params}, SRC, method=Transformer.encode)
    assert memory.shape == (2, 8, 15)
    assert_close(memory, reference.transformer_encode(np.asarray(SRC), f64(params), model.config), tol=1e-4)
    logits = apply({"params": params}, TGT, memory, SRC, method=Transformer.decode)
    assert_close(logits, forward(params, SRC, TGT))


def test_padded_source_tokens_do_not_change_the_output(model_and_params):
    _, params, forward = model_and_params
    # the padded source must give the same output as the same source with its padding cut off
    short_src, short_tgt = SRC[:1, :5], TGT[:1]
    assert_close(forward(params, SRC[:1], short_tgt), forward(params, short_src, short_tgt), tol=1e-5)


def test_cross_attention_gives_padded_source_positions_zero_weight(model_and_params):
    model, params, _ = model_and_params
    _, state = jax.jit(lambda p: model.apply({"params": p}, SRC, TGT, mutable=["intermediates"]))(params)
    cross_weights = state["intermediates"]["decoder_1"]["crossattention"]["attention_weights"][0]
    assert cross_weights.shape == (2, 3, 6, 8)
    assert np.all(np.asarray(cross_weights)[0, :, :, 5:] == 0.0)
    assert np.all(np.asarray(cross_weights)[1] > 0.0)
    decoder_self_weights = state["intermediates"]["decoder_0"]["attn"]["attention_weights"][0]
    assert decoder_self_weights.shape == (2, 3, 6, 6)  # all three kinds of attention are there to plot
    assert np.all(np.asarray(decoder_self_weights)[..., np.triu_indices(6, k=1)[0], np.triu_indices(6, k=1)[1]] == 0)
    encoder_weights = state["intermediates"]["encoder_0"]["attn"]["attention_weights"][0]
    assert np.all(np.asarray(encoder_weights)[0, :, :, 5:] == 0.0)


def test_decoder_is_causal(model_and_params):
    _, params, forward = model_and_params
    changed_tgt = TGT.at[:, 4:].set(7)
    np.testing.assert_array_equal(forward(params, SRC, TGT)[:, :4], forward(params, SRC, changed_tgt)[:, :4])


def test_parameter_layout_follows_the_config():
    shared = jax.eval_shape(Transformer(CONFIGS["shared"]).init, jax.random.key(0), SRC, TGT)["params"]
    separate = jax.eval_shape(Transformer(CONFIGS["pre-ln-untied"]).init, jax.random.key(0), SRC, TGT)["params"]
    assert "tgt_embed" not in shared and "lm_head" not in shared and "encoder_ln" not in shared
    assert {"tgt_embed", "lm_head", "encoder_ln", "decoder_ln"} <= set(separate)
    assert set(separate["decoder_0"]) == {"ln_1", "attn", "ln_cross_attn", "crossattention", "ln_2", "mlp"}


def test_gradients_flow_with_dropout_under_jit():
    model = Transformer(TransformerConfig(**{**SMALL, "dropout": 0.1, "n_encoder_layer": 1, "n_decoder_layer": 1}))
    params = jax.jit(model.init)(jax.random.key(0), SRC, TGT)["params"]

    def loss(p):
        logits = model.apply({"params": p}, SRC, TGT, deterministic=False, rngs={"dropout": jax.random.key(1)})
        return -jnp.mean(jax.nn.log_softmax(logits)[..., 3])

    value, grads = jax.jit(jax.value_and_grad(loss))(params)
    assert np.isfinite(value)
    assert all(np.abs(np.asarray(g)).sum() > 0 for g in jax.tree.leaves(grads))
