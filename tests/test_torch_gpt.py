"""The nanoGPT-style PyTorch peer (benchmark/torch_gpt.py) computes what jaxgpt's GPT computes, and
builds nanoGPT's optimizer: bench.py --vs-torch then times the same model in both frameworks."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import deferred, randomise

from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.training.config import TrainConfig

torch, torch_peer = deferred("torch"), deferred("jaxgpt.benchmark.torch_gpt")

# odd sizes, so a transposed or misplaced tensor cannot pass; exact GELU, as the PyTorch peer has
MODEL = GPTConfig(vocab_size=37, block_size=11, n_layer=2, n_head=3, n_embd=24, activation="gelu")
TOKENS_BxT = np.random.default_rng(0).integers(0, 37, size=(3, 11))


@pytest.mark.parametrize("bias", [False, True])
def test_logits_equal_jaxgpt_with_its_params_copied_in(bias):
    config = dataclasses.replace(MODEL, bias=bias)
    model = GPT(config)
    # every tensor random (LayerNorm gains and biases too), so each one's copy is tested
    params = randomise(jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))["params"])
    ours_BxTxV = np.asarray(jax.jit(model.apply)({"params": params}, TOKENS_BxT))
    peer = torch_peer.copy_jaxgpt_params(torch_peer.torch_gpt(config), params).eval()
    with torch.no_grad():
        theirs_BxTxV, _ = peer(torch.from_numpy(TOKENS_BxT))
    np.testing.assert_allclose(theirs_BxTxV.numpy(), ours_BxTxV, rtol=1e-5, atol=1e-5)


def test_the_forward_with_targets_returns_the_mean_cross_entropy():
    peer = torch_peer.torch_gpt(MODEL).eval()
    idx_BxT = torch.from_numpy(TOKENS_BxT)
    with torch.no_grad():
        logits_BxTxV, loss = peer(idx_BxT, idx_BxT)
    expected = torch.nn.functional.cross_entropy(logits_BxTxV.reshape(-1, 37), idx_BxT.reshape(-1))
    assert loss.item() == pytest.approx(expected.item())


def test_a_mismatched_config_names_the_tensor():
    params = jax.jit(GPT(MODEL).init)(jax.random.key(0), jnp.zeros((1, 1), jnp.int32))["params"]
    with pytest.raises(InputError, match=r"'transformer.h.0.attn.c_attn.bias' has no place"):
        torch_peer.copy_jaxgpt_params(torch_peer.torch_gpt(dataclasses.replace(MODEL, bias=False)), params)
    with pytest.raises(InputError, match=r"'transformer.wte.weight' is \(37, 24\) in jaxgpt but \(40, 24\)"):
        torch_peer.copy_jaxgpt_params(torch_peer.torch_gpt(dataclasses.replace(MODEL, vocab_size=40)), params)


def test_tied_head_and_residual_projections_start_as_nanogpt():
    peer = torch_peer.torch_gpt(dataclasses.replace(MODEL, n_layer=8, n_embd=96))
    assert peer.lm_head.weight is peer.transformer.wte.weight
    # c_proj adds into the residual stream 2 * n_layer times: normal(0.02 / sqrt(16)) = 0.005
    assert peer.transformer.h[0].mlp.c_proj.weight.std().item() == pytest.approx(0.005, rel=0.05)
    assert peer.transformer.h[0].mlp.c_fc.weight.std().item() == pytest.approx(0.02, rel=0.05)


@pytest.mark.parametrize("bias", [False, True])
def test_optimizer_decays_exactly_the_matrices_and_embeddings(bias):
    peer = torch_peer.torch_gpt(dataclasses.replace(MODEL, bias=bias))
    optimizer = torch_peer.torch_optimizer(peer, TrainConfig(weight_decay=0.1, learning_rate=1e-3, beta2=0.99), "cpu")
    decay, no_decay = optimizer.param_groups
    names = {id(p): name for name, p in peer.named_parameters()}
    decayed = sorted(names[id(p)] for p in decay["params"])
    assert decayed == sorted(name for name, p in peer.named_parameters() if p.dim() >= 2)
    assert "transformer.wte.weight" in decayed and "transformer.h.1.attn.c_attn.weight" in decayed
    # LayerNorm gains (2 a block, and ln_f's), and with bias their biases and 4 Linear biases a block
    assert all(p.dim() < 2 for p in no_decay["params"]) and len(no_decay["params"]) == (18 if bias else 5)
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(peer.parameters()))  # tied weight once
    assert (decay["weight_decay"], no_decay["weight_decay"]) == (0.1, 0.0)
    assert decay["lr"] == 1e-3 and decay["betas"] == (0.9, 0.99) and not decay["fused"]  # fused on CUDA only
