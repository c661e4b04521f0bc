"""The code-along's Flax stages are twins of the video's PyTorch code (jaxgpt.benchmark.codealong_torch):
with the same weights they give the same logits at every stage, and the same losses after a few
AdamW steps on the same batches."""

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import deferred

from jaxgpt.study import codealong

torch, codealong_torch = deferred("torch"), deferred("jaxgpt.benchmark.codealong_torch")

SMALL = {  # the stages, shrunk: C = 16, context 6
    name: (None if stage.config is None else dataclasses.replace(stage.config, n_embd=16, block_size=6, dropout=0.0))
    for name, stage in codealong.STAGES.items()
}


def twins(config, seed=0):
    torch_model = codealong_torch.make_model(config, seed)
    flax_model = codealong.BigramLanguageModel() if config is None else codealong.GPTLanguageModel(config)
    return torch_model, flax_model, jax.tree.map(jnp.asarray, codealong_torch.flax_params(torch_model))


@pytest.mark.parametrize("name", list(SMALL))
def test_same_weights_give_the_same_logits(name):
    torch_model, flax_model, params = twins(SMALL[name])
    idx_BxT = np.random.default_rng(0).integers(0, 65, (3, 6))
    # the copied tree is exactly the tree Flax builds for this stage
    flax_tree = codealong.init_params(flax_model, 6)
    assert jax.tree.structure(params) == jax.tree.structure(flax_tree)
    assert jax.tree.map(np.shape, params) == jax.tree.map(np.shape, flax_tree)
    with torch.no_grad():
        expected = torch_model(torch.from_numpy(idx_BxT)).numpy()
    assert np.allclose(flax_model.apply({"params": params}, jnp.asarray(idx_BxT)), expected, atol=1e-5)


@pytest.mark.parametrize("name", ["bigram", "layernorm"])
def test_same_batches_and_weights_give_the_same_losses_after_adamw_steps(name):
    torch_model, flax_model, params = twins(SMALL[name])
    tokens = np.random.default_rng(1).integers(0, 65, 2000).astype(np.uint16)
    batches = codealong.get_batches(tokens, 6, 8, steps=5, seed=2)
    evaluation = {"val": codealong.get_batches(tokens, 6, 8, steps=2, seed=3)}
    learning_rate = codealong.STAGES[name].learning_rate
    _, losses, scores = codealong.train(flax_model, params, batches, learning_rate, eval_batches=evaluation)
    torch_losses, torch_scores, _ = codealong_torch.train(torch_model, batches, learning_rate, evaluation)
    assert np.allclose(losses, torch_losses, atol=1e-5)
    assert abs(scores["val"] - torch_scores["val"]) < 1e-5
