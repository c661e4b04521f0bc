"""Training parity: jaxgpt's jitted train step against a PyTorch twin, step for step.

The twin is transformers' GPT2LMHeadModel started from jaxgpt's own initial weights (through
`to_hf_state_dict`), trained as nanoGPT's train.py trains: torch.optim.AdamW on nanoGPT's two
parameter groups (weight decay on the >= 2-D parameters only), nanoGPT's get_lr (linear warmup,
then cosine to min_lr), clip_grad_norm_, and gradient accumulation as loss / A summed over A
micro-batches. Both take the same batches of tiny Shakespeare, in float32 on the CPU, with
the shakespeare-char-cpu recipe at a smaller width (biases on: GPT-2 has them)."""

from __future__ import annotations  # the annotations name torch and transformers, imported at first use

import dataclasses
import pathlib

import jax
import numpy as np
import pytest
from helpers import deferred, nanogpt_lr

from jaxgpt.data.sampler import BatchSampler
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.model.pretrained import hf_config, to_hf_state_dict
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh, shard_state
from jaxgpt.training.recipes import TRAIN_RECIPES
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.optimizer import make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step

torch, transformers = deferred("torch"), deferred("transformers")
STEPS = 200
MODEL = GPTConfig(
    vocab_size=65, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=True, activation="gelu", dropout=0.0
)
RECIPE = TrainConfig(
    **{
        **TRAIN_RECIPES["shakespeare-char-cpu"],  # lr 1e-3 -> 1e-4, beta2 0.99, decay 0.1, clip 1.0, no dropout
        "batch_size": 4,
        "max_iters": STEPS,
        "warmup_iters": 20,
        "lr_decay_iters": STEPS,
    }
)


def schedule_lr(it: int, c: TrainConfig) -> float:
    return nanogpt_lr(it, c.learning_rate, c.warmup_iters, c.lr_decay_iters, c.min_lr)


@pytest.fixture(scope="module")
def tokens():
    text = (pathlib.Path(__file__).parent / "data" / "tinyshakespeare.txt").read_bytes()[:100_000]
    _, ids = np.unique(np.frombuffer(text, np.uint8), return_inverse=True)
    assert ids.max() < MODEL.vocab_size
    return ids.astype(np.uint16)


def batches(tokens, config: TrainConfig):
    """max_iters batches [A, B, T] of inputs and targets, drawn once: both sides take exactly these."""
    sampler = BatchSampler(tokens, MODEL.block_size, seed=config.seed)
    return [sampler.sample(config.gradient_accumulation_steps, config.batch_size) for _ in range(config.max_iters)]


def torch_twin(params) -> transformers.GPT2LMHeadModel:
    twin = transformers.GPT2LMHeadModel(transformers.GPT2Config(**hf_config(MODEL))).float()
    state = {key: torch.from_numpy(np.array(value)) for key, value in to_hf_state_dict(params, MODEL).items()}
    missing, unexpected = twin.load_state_dict(state, strict=False)
    assert not unexpected and all(key.endswith(".attn.bias") for key in missing), (missing, unexpected)
    assert twin.lm_head.weight is twin.transformer.wte.weight  # tied, as jaxgpt's head is wte itself
    return twin


def twin_optimizer(twin, config: TrainConfig) -> torch.optim.AdamW:
    """nanoGPT's configure_optimizers: decay on the >= 2-D parameters, none on biases and LayerNorms."""
    params = [p for p in twin.parameters() if p.requires_grad]
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": config.weight_decay},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(config.beta1, config.beta2), eps=1e-8)


def twin_loss(twin, x_BxT, y_BxT) -> torch.Tensor:
    logits_BxTxV = twin(torch.from_numpy(x_BxT).long()).logits
    return torch.nn.functional.cross_entropy(
        logits_BxTxV.reshape(-1, MODEL.vocab_size), torch.from_numpy(y_BxT).long().reshape(-1)
    )


def train_both(tokens, config: TrainConfig):
    """Both sides over the same STEPS batches: (jaxgpt's losses, the twin's losses, jaxgpt's final
    params, the twin, jaxgpt's initial params, the clipped steps' count)."""
    model, optimizer, mesh = GPT(MODEL), make_optimizer(config), data_mesh()
    state = shard_state(init_train_state(model, optimizer, config.seed, (np.zeros((1, 1), np.int32),)), mesh)
    initial_params = jax.device_get(state.params)
    step = make_train_step(
        language_model_loss(model, config), optimizer, config, jax.tree.map(lambda a: a.sharding, state), mesh
    )
    twin = torch_twin(initial_params)
    twin_opt = twin_optimizer(twin, config)
    A = config.gradient_accumulation_steps
    ours, theirs, clipped = [], [], 0
    for it, (x_AxBxT, y_AxBxT) in enumerate(batches(tokens, config)):
        state, metrics = step(state, x_AxBxT, y_AxBxT)
        ours.append(metrics["loss"])
        for group in twin_opt.param_groups:
            group["lr"] = schedule_lr(it, config)
        loss_sum = 0.0
        for a in range(A):  # nanoGPT's accumulation: loss / A, gradients summed
            loss = twin_loss(twin, x_AxBxT[a], y_AxBxT[a])
            (loss / A).backward()
            loss_sum += loss.item()
        theirs.append(loss_sum / A)
        norm = torch.nn.utils.clip_grad_norm_(twin.parameters(), config.grad_clip)
        clipped += int(norm > config.grad_clip)
        twin_opt.step()
        twin_opt.zero_grad(set_to_none=True)
    return (
        np.array([float(x) for x in ours]),
        np.array(theirs),
        jax.device_get(state.params),
        twin,
        initial_params,
        clipped,
    )


@pytest.mark.parametrize("accumulation, steps", [(1, STEPS), (2, STEPS // 2)])  # accumulation: half as many steps
def test_every_step_loss_and_the_final_weights_equal_the_pytorch_twin(tokens, accumulation, steps):
    config = dataclasses.replace(
        RECIPE, gradient_accumulation_steps=accumulation, max_iters=steps, lr_decay_iters=steps
    )
    ours, theirs, params, twin, _, clipped = train_both(tokens, config)
    assert 0 < clipped < steps  # clipping both on and off within the run: both branches compared
    assert ours[-1] < ours[0] - 0.5  # it learned: the comparison is not of two flat lines
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
    print(f"largest relative loss difference over {steps} steps: {np.max(np.abs(ours / theirs - 1)):.2e}")
    expected = to_hf_state_dict(params, MODEL)
    for key, value in twin.state_dict().items():
        if key not in expected:
            continue  # the causal-mask buffers
        value, want = value.numpy().copy(), expected[key].copy()
        if key.endswith("attn.c_attn.bias"):
            # The key bias adds q . b_k to every score of a row, which softmax ignores: its exact
            # gradient is 0, both sides' is rounding noise, and Adam turns noise into lr-sized steps
            # that differ. Compared by size only; the query and value biases exactly.
            C = MODEL.n_embd
            key_bias_twin, key_bias_ours = value[C : 2 * C], want[C : 2 * C]
            bound = sum(schedule_lr(it, config) for it in range(steps)) + 0.02
            assert np.abs(key_bias_twin).max() < bound and np.abs(key_bias_ours).max() < bound
            value[C : 2 * C] = want[C : 2 * C] = 0.0
        np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-4, err_msg=key)


def test_the_first_gradient_equals_the_twins_tensor_by_tensor(tokens):
    model = GPT(MODEL)
    params = jax.jit(model.init)(jax.random.key(RECIPE.seed), np.zeros((1, 1), np.int32))["params"]
    x_AxBxT, y_AxBxT = batches(tokens, RECIPE)[0]
    grads = jax.jit(jax.grad(language_model_loss(model, RECIPE)))(params, (x_AxBxT[0], y_AxBxT[0]))
    twin = torch_twin(params)
    twin_loss(twin, x_AxBxT[0], y_AxBxT[0]).backward()
    expected = to_hf_state_dict(grads, MODEL)
    compared = 0
    for key, parameter in twin.named_parameters():
        np.testing.assert_allclose(parameter.grad.numpy(), expected[key], rtol=1e-4, atol=1e-6, err_msg=key)
        compared += 1
    assert compared == len(jax.tree.leaves(params))  # every tensor, wte (embedding + head) once
