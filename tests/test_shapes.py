"""The shape tracer: every module call with its shapes and parameters, and no real compute."""

import resource

import jax
import numpy as np

from jaxgpt import GPT, GPTConfig, Transformer, TransformerConfig, count_params
from jaxgpt.study.shapes import print_shapes, trace_shapes

TINY = GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32)


def test_gpt_calls_in_order_with_their_shapes_and_parameters(capsys):
    tokens_BxT = np.zeros((2, 16), np.int32)
    calls = print_shapes(GPT(TINY), tokens_BxT)
    by_path = {(call.path, call.method): call for call in calls}
    model = by_path[((), "__call__")]
    assert model.inputs == ["2x16 int32"] and model.outputs == ["2x16x65 float32"]
    assert model.params == count_params(GPT(TINY).init(jax.random.key(0), tokens_BxT)["params"])
    c_attn = by_path[(("h_0", "attn", "c_attn"), "__call__")]
    assert c_attn.module == "Dense" and c_attn.outputs == ["2x16x96 float32"] and c_attn.params == 32 * 96 + 96
    weights = by_path[(("h_1", "attn", "Dropout_0"), "__call__")]
    assert weights.inputs == ["2x2x16x16 float32"]  # attention weights [B, H, T, S]
    assert by_path[(("wte",), "attend")].outputs == ["32x65 float32"]  # the tied output layer
    order = [call.path for call in calls]
    assert order.index(("h_0",)) < order.index(("h_0", "ln_1")) < order.index(("h_1",)) < order.index(("ln_f",))
    assert sum(1 for call in calls if call.path == ("h_0", "attn", "c_attn")) == 1  # Dense's inner call folded
    printed = capsys.readouterr().out
    assert "    attn (MultiHeadAttention)" in printed and "2x16x96 float32" in printed


def test_encoder_decoder_cross_attention_sees_both_sequences():
    config = TransformerConfig.from_preset(
        "transformer-tiny", src_vocab_size=20, tgt_vocab_size=20, n_encoder_layer=1, n_decoder_layer=1
    )
    calls = trace_shapes(Transformer(config), np.zeros((2, 10), np.int32), np.zeros((2, 7), np.int32))
    cross = next(call for call in calls if call.path == ("decoder_0", "crossattention"))
    assert cross.inputs == ["2x7x64 float32", "2x10x64 float32"] and cross.outputs == ["2x7x64 float32"]


def test_tracing_gpt2_xl_allocates_nothing():
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    calls = trace_shapes(GPT(GPTConfig.from_preset("gpt2-xl")), np.zeros((1, 1024), np.int32))
    assert calls[0].params == 1_557_611_200 and calls[0].outputs == ["1x1024x50257 float32"]
    # shapes only: the 1.5 billion float32 parameters (6.2 GB) were never made, so the process's
    # peak memory grew by far less than them
    grown_bytes = 1024 * (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib)
    assert grown_bytes < 1e9


def test_remat_blocks_show_as_blocks():
    remat = GPT(GPTConfig(vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32, remat=True))
    calls = trace_shapes(remat, np.zeros((2, 16), np.int32))
    assert all(call.method in ("__call__", "attend") for call in calls)  # no rows for remat's wrappers
    block = next(call for call in calls if call.path == ("h_0",))
    assert block.inputs == ["2x16x32 float32"] and block.params == 12_704
