"""Training as the video trains: random windows of the text as batches, AdamW, and `estimate_loss`.

The batches come from a seeded NumPy sampler (`jaxgpt.data.sampler.BatchSampler`, window starts
drawn uniformly as the video's `torch.randint(len(data) - block_size, (batch_size,))`), so the
PyTorch twin can be given exactly the same ones. AdamW has PyTorch's defaults (betas 0.9 and
0.999, eps 1e-8, weight decay 0.01 on every parameter); the whole run is one jitted `lax.scan`,
and the learning rate is an argument, not a constant, so a sweep over it compiles once.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from jaxgpt.data.sampler import BatchSampler

EVAL_SEED = 1337  # the evaluation windows: the same for every stage and both frameworks
TORCH_WEIGHT_DECAY = 0.01  # torch.optim.AdamW's default (optax.adamw's is 1e-4)


def get_batches(tokens, block_size: int, batch_size: int, steps: int, seed: int):
    """x, y [steps, B, T] int32: `steps` batches of random windows, y = x shifted by one."""
    sampler = BatchSampler(np.asarray(tokens), block_size, seed)
    pairs = [sampler.sample(batch_size) for _ in range(steps)]
    return np.stack([x for x, _ in pairs]), np.stack([y for _, y in pairs])


def cross_entropy(logits_BxTxV, targets_BxT):
    """The mean of -log p(target), F.cross_entropy's loss."""
    return optax.softmax_cross_entropy_with_integer_labels(logits_BxTxV, targets_BxT).mean()


def init_params(model, block_size: int, seed: int = 0) -> dict:
    """The model's parameters drawn as PyTorch draws them, by NumPy from `seed`: nn.Linear's `kernel`
    and `bias` from U(±1/sqrt(fan_in)), nn.Embedding's `embedding` from N(0, 1), LayerNorm's `scale`
    1 and `bias` 0. (jax.random's draws for a few dozen arrays take seconds to compile, longer than
    the stage trains.) Only the shapes come from the model: your module's own initialisers are not run."""
    rng = np.random.default_rng(seed)
    shapes = jax.eval_shape(model.init, jax.random.key(seed), jnp.zeros((1, block_size), jnp.int32))["params"]

    def draw(layer: dict, path: str) -> dict:
        if "kernel" in layer:
            bound = 1 / np.sqrt(layer["kernel"].shape[0])
            return {name: rng.uniform(-bound, bound, leaf.shape).astype(np.float32) for name, leaf in layer.items()}
        if "embedding" in layer:
            return {"embedding": rng.standard_normal(layer["embedding"].shape).astype(np.float32)}
        if "scale" in layer:
            return {
                "scale": np.ones(layer["scale"].shape, np.float32),
                "bias": np.zeros(layer["bias"].shape, np.float32),
            }
        if all(isinstance(value, dict) for value in layer.values()):
            return {name: draw(value, f"{path}/{name}") for name, value in layer.items()}
        raise ValueError(
            f"{path} holds {list(layer)}: the video's layers hold kernel (and bias), embedding, or scale and bias"
        )

    return jax.tree.map(jnp.asarray, draw(shapes, "params"))


def _mean_loss(model, params, x_NxBxT, y_NxBxT):
    losses_N = jax.lax.map(lambda b: cross_entropy(model.apply({"params": params}, b[0]), b[1]), (x_NxBxT, y_NxBxT))
    return losses_N.mean()


@functools.partial(jax.jit, static_argnums=0)
def _train(model, params, batches, learning_rate, key, eval_batches):
    optimizer = optax.inject_hyperparams(optax.adamw)(learning_rate=learning_rate, weight_decay=TORCH_WEIGHT_DECAY)
    # AdamW is elementwise, so it may update all parameters as one vector: one fused kernel for XLA
    # to compile and run instead of one per array (the 3-block stages hold some 60 arrays)
    flat_P, unravel = ravel_pytree(params)

    def step(carry, batch):
        flat_P, opt_state, i = carry
        x_BxT, y_BxT = batch

        def loss_fn(flat_P):
            rngs = {"dropout": jax.random.fold_in(key, i)}
            return cross_entropy(model.apply({"params": unravel(flat_P)}, x_BxT, train=True, rngs=rngs), y_BxT)

        loss, grads_P = jax.value_and_grad(loss_fn)(flat_P)
        updates_P, opt_state = optimizer.update(grads_P, opt_state, flat_P)
        return (flat_P + updates_P, opt_state, i + 1), loss

    (flat_P, _, _), losses_N = jax.lax.scan(step, (flat_P, optimizer.init(flat_P), 0), batches)
    params = unravel(flat_P)
    # evaluated in the same compiled program, every split in one loop: one compiled forward pass
    splits = list(eval_batches)
    x_SxMxBxT, y_SxMxBxT = (jnp.stack([eval_batches[split][i] for split in splits]) for i in (0, 1))
    losses_S = jax.lax.map(lambda xy: _mean_loss(model, params, *xy), (x_SxMxBxT, y_SxMxBxT)) if splits else []
    return params, losses_N, dict(zip(splits, losses_S))


def train(model, params, batches, learning_rate: float, seed: int = 0, eval_batches=None):
    """AdamW on each batch of `batches` (x, y [N, B, T]) in order -> (params, training losses [N],
    {split: the mean loss over eval_batches[split] (x, y [M, B, T]) after training})."""
    eval_batches = {split: tuple(map(jnp.asarray, xy)) for split, xy in (eval_batches or {}).items()}
    batches = tuple(map(jnp.asarray, batches))
    params, losses_N, evaluated = _train(model, params, batches, learning_rate, jax.random.key(seed), eval_batches)
    return params, losses_N, {split: float(loss) for split, loss in evaluated.items()}


def eval_batches(data, block_size: int, batch_size: int = 32, eval_iters: int = 200) -> dict:
    """{"train": (x, y), "val": (x, y)}, each [eval_iters, B, T]: EVAL_SEED's windows, the same every time."""
    splits = ("train", "val")
    return {split: get_batches(data.split(split), block_size, batch_size, eval_iters, EVAL_SEED) for split in splits}


_jitted_mean_loss = jax.jit(_mean_loss, static_argnums=0)


def estimate_loss(model, params, data, block_size: int, batch_size: int = 32, eval_iters: int = 200) -> dict:
    """The video's estimate_loss: the mean loss over `eval_iters` batches of each split ("train",
    "val"), in evaluation mode (no dropout); the windows are EVAL_SEED's, the same every time."""
    batches = eval_batches(data, block_size, batch_size, eval_iters)
    return {split: float(_jitted_mean_loss(model, params, *map(jnp.asarray, xy))) for split, xy in batches.items()}


@functools.partial(jax.jit, static_argnums=0)
def _next_token(model, params, window_1xT, last, key):
    logits_V = model.apply({"params": params}, window_1xT)[0, last]
    return jax.random.categorical(key, logits_V)


def generate(model, params, idx_T, max_new_tokens: int, block_size: int, seed: int = 0) -> np.ndarray:
    """The video's generate: `max_new_tokens` characters sampled one at a time after idx [T], each from
    the logits at the last position of the last block_size tokens -> [T + max_new_tokens]."""
    tokens = list(np.asarray(idx_T))
    key = jax.random.key(seed)
    for i in range(max_new_tokens):
        context = tokens[-block_size:]
        # one window shape for every step, so it compiles once; the model is causal, so the zeros
        # after the context cannot change the logits at its last position
        window_1xT = np.zeros((1, block_size), np.int32)
        window_1xT[0, : len(context)] = context
        tokens.append(int(_next_token(model, params, window_1xT, len(context) - 1, jax.random.fold_in(key, i))))
    return np.array(tokens)
