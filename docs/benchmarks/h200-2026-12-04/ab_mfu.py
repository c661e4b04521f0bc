"""GPT-2 124M train-step variants compiled in ONE process and timed in turns on one fixed batch
(issue 25 item 4: MFU 44.1 % -> 50 % on one H200, i.e. 32.3 -> <= 28.5 ms a step at batch 16).

    python3 docs/benchmarks/h200-2026-12-04/ab_mfu.py                 # the GPU run (gpu_ab.sh)
    python3 docs/benchmarks/h200-2026-12-04/ab_mfu.py --variants base,flatp --rounds 3
    python3 docs/benchmarks/h200-2026-12-04/ab_mfu.py --tiny          # CPU check: 2 layers, 64 wide, float32

Nothing under jaxgpt/ is edited: a variant's changes are patched in while its step is traced (the
first call compiles it), then undone. Every variant starts from the same parameters and takes the
same steps on the same batch, so the losses printed at the end must agree (bfloat16 noise: within
~0.01 after ~50 steps on the GPU; float32 --tiny: within 1e-4); a wrong variant shows there.
Timing: the fastest of --rounds windows of --window steps, the variants taking turns. MFU is
jaxgpt.training.devices.mfu.flops_per_token x tokens / time / 989 TFLOP/s (the H200 data sheet).

Variants (default: all but `dbias` and `qkv`; pick with --variants):
  base       the step as committed: jaxgpt's GPT, make_optimizer, make_train_step
  nopnorm    the same step without the param_norm metric (a copy of make_train_step, A = 1 and no
             loss scale, that drops it): what that extra norm over the parameters costs
  optax_flat AdamW inside optax.flatten: clip_by_global_norm as now, then optax.partition into the
             matrices (flatten(adamw(wd))) and the vectors (flatten(adam)); the decay mask, which a
             flat vector cannot carry, becomes the partition. Concatenates grads and params each step
  flatp      the parameters kept as ONE flat float32 vector in the train state (matrices first), the
             model reading them through jnp.split: the gradient arrives flat (one concatenate), and
             clipping, Adam, decay (on the matrix prefix) and the update are one fused pass over it
  dbias      every Dense's bias gradient from the materialised output gradient, as ones[8, N] @ dy
             (a matrix product behind an optimization_barrier), instead of an XLA column reduction
             that re-reads the gradient's producers (GELU's backward, the residual adds)
  qkv        c_attn's q, k, v leave a custom_vjp as three arrays: the backward takes dq, dk, dv as
             they come from cuDNN (dx = dq Wq' + dk Wk' + dv Wv', dW from three products) instead of
             concatenating them into [N, 3C] first (the two concatenate kernels of the profile)
  dbias_qkv  dbias and qkv together
  combo      flatp + dbias_qkv + nopnorm
  b32        base at batch 32 (the batch-16 one twice: the same loss and gradient)
--tiny also runs `copy`: the copy of make_train_step with every metric, which must equal base exactly.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time

os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")  # as scripts/bench.py

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding, PartitionSpec

import jaxgpt.model.attention as attention_module
import jaxgpt.model.feedforward as feedforward_module
from jaxgpt.cli.allocator import restart_with_fast_allocator
from jaxgpt.cli.run import add_fast_xla_flags
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.dense import Dense
from jaxgpt.model.gpt import GPT
from jaxgpt.model.params import count_params
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.mfu import flops_per_token
from jaxgpt.training.devices.sharding import batch_sharding, data_mesh, shard_batch, shard_state
from jaxgpt.training.step.loss import language_model_loss
from jaxgpt.training.step.optimizer import learning_rate_schedule, make_optimizer
from jaxgpt.training.step.state import init_train_state
from jaxgpt.training.step.train_step import make_train_step

PEAK = 989e12  # H200 SXM, dense bfloat16, data sheet
DEFAULT = "base,nopnorm,optax_flat,flatp,dbias_qkv,combo,b32"
ALL = ("base", "copy", "nopnorm", "optax_flat", "flatp", "dbias", "qkv", "dbias_qkv", "combo", "b32")
MATMUL = (((1,), (0,)), ((), ()))  # [N, C] @ [C, F]


@contextlib.contextmanager
def patched(changes):
    """Set (object, attribute, value) for the duration; restore afterwards."""
    saved = [(obj, name, getattr(obj, name)) for obj, name, _ in changes]
    for obj, name, value in changes:
        setattr(obj, name, value)
    try:
        yield
    finally:
        for obj, name, value in saved:
            setattr(obj, name, value)


# ---- dbias / qkv: Dense layers with a written-out backward -------------------------------------


def bias_grad(dy_NxF, dtype):
    """sum over N of dy, as a matrix product ones[8, N] @ dy with float32 sums. The barrier makes
    XLA read dy as stored (it is, for the weight-gradient products) instead of fusing dy's
    producers into a reduction that reads their inputs again."""
    ones_8xN, dy_NxF = jax.lax.optimization_barrier((jnp.ones((8, dy_NxF.shape[0]), dy_NxF.dtype), dy_NxF))
    return jax.lax.dot_general(ones_8xN, dy_NxF, MATMUL, preferred_element_type=jnp.float32)[0].astype(dtype)


@jax.custom_vjp
def linear(x_NxC, w_CxF, b_F):
    return jax.lax.dot_general(x_NxC, w_CxF, MATMUL) + b_F


def _linear_fwd(x_NxC, w_CxF, b_F):
    return linear(x_NxC, w_CxF, b_F), (x_NxC, w_CxF, b_F)


def _linear_bwd(saved, dy_NxF):
    x_NxC, w_CxF, b_F = saved
    _, matmul_vjp = jax.vjp(lambda x, w: jax.lax.dot_general(x, w, MATMUL), x_NxC, w_CxF)
    dx_NxC, dw_CxF = matmul_vjp(dy_NxF)  # the products autodiff makes
    return dx_NxC, dw_CxF, bias_grad(dy_NxF, b_F.dtype)


linear.defvjp(_linear_fwd, _linear_bwd)


@jax.custom_vjp
def qkv_linear(x_NxC, w_Cx3C, b_3C):
    """(q, k, v) = split(x @ W + b, 3): one product forward; the backward never concatenates."""
    return tuple(jnp.split(jax.lax.dot_general(x_NxC, w_Cx3C, MATMUL) + b_3C, 3, axis=-1))


def _qkv_fwd(x_NxC, w_Cx3C, b_3C):
    return qkv_linear(x_NxC, w_Cx3C, b_3C), (x_NxC, w_Cx3C, b_3C)


def _qkv_bwd(saved, dqkv):
    x_NxC, w_Cx3C, b_3C = saved
    dq, dk, dv = dqkv
    wq, wk, wv = jnp.split(w_Cx3C, 3, axis=1)
    back = (((1,), (1,)), ((), ()))  # dy [N, F] @ w[C, F]' -> [N, C]
    dx_NxC = jax.lax.dot_general(dq, wq, back) + jax.lax.dot_general(dk, wk, back) + jax.lax.dot_general(dv, wv, back)
    wgrad = (((0,), (0,)), ((), ()))  # x' [C, N] @ dy [N, F] -> [C, F]
    dw = jnp.concatenate([jax.lax.dot_general(x_NxC, g, wgrad) for g in dqkv], axis=1)
    db = jnp.concatenate([bias_grad(g, b_3C.dtype) for g in dqkv])
    return dx_NxC, dw, db


qkv_linear.defvjp(_qkv_fwd, _qkv_bwd)


def _dense_params(module, x):
    """nn.Dense's parameters (same names, shapes, initialisers, order) and its dtype promotion."""
    C = x.shape[-1]
    kernel = module.param("kernel", module.kernel_init, (C, module.features), module.param_dtype)
    bias = (
        module.param("bias", module.bias_init, (module.features,), module.param_dtype)
        if module.use_bias
        else jnp.zeros((module.features,), module.param_dtype)
    )
    promote = getattr(module, "promote_dtype", None) or flax.linen.dtypes.promote_dtype
    return promote(x.reshape(-1, C), kernel, bias, dtype=module.dtype)


class BiasVJPDense(Dense):
    """jaxgpt's Dense ([..., C] -> [..., F] on the [N, C] matrix), bias gradient by bias_grad."""

    @nn.compact
    def __call__(self, x):
        x_NxC, kernel, bias = _dense_params(self, x)
        y_NxF = linear(x_NxC, kernel, bias)
        return y_NxF.reshape(*x.shape[:-1], self.features)


class QKVDense(Dense):
    """c_attn: returns (q, k, v), each [..., F / 3], through qkv_linear."""

    @nn.compact
    def __call__(self, x):
        x_NxC, kernel, bias = _dense_params(self, x)
        return tuple(t.reshape(*x.shape[:-1], t.shape[-1]) for t in qkv_linear(x_NxC, kernel, bias))


ORIGINAL_PROJECT = attention_module.MultiHeadAttention._project


def qkv_project(self, x_BxTxC, context_BxSxC, decode):
    if context_BxSxC is None:
        C = x_BxTxC.shape[-1]
        return QKVDense(3 * C, use_bias=self.bias, kernel_init=nn.initializers.normal(self.init_std), name="c_attn")(
            x_BxTxC
        )
    return ORIGINAL_PROJECT(self, x_BxTxC, context_BxSxC, decode)


DBIAS = [(attention_module, "Dense", BiasVJPDense), (feedforward_module, "Dense", BiasVJPDense)]
QKV = [(attention_module.MultiHeadAttention, "_project", qkv_project)]


# ---- the optimizers ----------------------------------------------------------------------------


def optax_flat_optimizer(tc: TrainConfig):
    """make_optimizer's clip + AdamW (decay on matrices only), the AdamW part inside optax.flatten."""
    schedule = learning_rate_schedule(tc)
    partition = getattr(optax, "partition", None) or optax.multi_transform
    labels = lambda params: jax.tree.map(lambda p: "decay" if p.ndim >= 2 else "plain", params)
    adam = partition(
        {
            "decay": optax.flatten(optax.adamw(schedule, b1=tc.beta1, b2=tc.beta2, weight_decay=tc.weight_decay)),
            "plain": optax.flatten(optax.adam(schedule, b1=tc.beta1, b2=tc.beta2)),
        },
        labels,
    )
    return optax.chain(optax.clip_by_global_norm(tc.grad_clip), adam) if tc.grad_clip > 0 else adam


def decay_prefix(weight_decay: float, n_decayed: int) -> optax.GradientTransformation:
    """add_decayed_weights on a flat vector whose first n_decayed entries are the matrices."""

    def update(updates, state, params):
        decayed = jnp.arange(updates.shape[0]) < n_decayed
        return jnp.where(decayed, updates + weight_decay * params, updates), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update)


def flat_optimizer(tc: TrainConfig, n_decayed: int):
    """make_optimizer's chain, term for term (optax.adamw = scale_by_adam, decay, learning rate),
    on one flat vector."""
    adamw = optax.chain(
        optax.scale_by_adam(b1=tc.beta1, b2=tc.beta2),
        decay_prefix(tc.weight_decay, n_decayed),
        optax.scale_by_learning_rate(learning_rate_schedule(tc)),
    )
    return optax.chain(optax.clip_by_global_norm(tc.grad_clip), adamw) if tc.grad_clip > 0 else adamw


class Flattener:
    """params pytree <-> one flat vector, the matrices (weight-decayed) first. unravel uses
    jnp.split, whose gradient is one concatenate of the pieces' gradients."""

    def __init__(self, params):
        leaves, self.treedef = jax.tree.flatten(params)
        self.shapes = [leaf.shape for leaf in leaves]
        self.order = sorted(range(len(leaves)), key=lambda i: len(self.shapes[i]) < 2)  # stable: matrices first
        sizes = [int(np.prod(self.shapes[i])) for i in self.order]
        self.offsets = np.cumsum(sizes)[:-1].tolist()
        self.n_decayed = sum(size for i, size in zip(self.order, sizes) if len(self.shapes[i]) >= 2)

    def ravel(self, params):
        leaves = self.treedef.flatten_up_to(params)
        return jnp.concatenate([jnp.reshape(leaves[i], -1) for i in self.order])

    def unravel(self, flat):
        leaves = [None] * len(self.shapes)
        for i, piece in zip(self.order, jnp.split(flat, self.offsets)):
            leaves[i] = piece.reshape(self.shapes[i])
        return self.treedef.unflatten(leaves)


# ---- the step ------------------------------------------------------------------------------------


def lean_train_step(loss_fn, optimizer, tc: TrainConfig, state_sharding, mesh, param_norm=True):
    """jaxgpt's make_train_step for A = 1 micro-batch and no loss scale, line for line, with the
    param_norm metric optional."""
    schedule = learning_rate_schedule(tc)

    def train_step(state, batch_AxB):
        step_key = jax.random.fold_in(jax.random.wrap_key_data(state.rng, impl=tc.dropout_rng), state.step)
        scale = 1.0
        batch = tuple(x[0] for x in batch_AxB)
        scaled_loss, grads = jax.value_and_grad(lambda p: loss_fn(p, batch, step_key) * scale)(state.params)
        loss = scaled_loss / scale
        updates, opt_state = optimizer.update(grads, state.opt_state, state.params)
        new_state = state.replace(
            step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
        )
        metrics = {"loss": loss, "lr": schedule(state.step), "grad_norm": optax.tree.norm(grads)}
        if param_norm:
            metrics["param_norm"] = optax.tree.norm(new_state.params)
        return new_state, metrics

    jitted = jax.jit(
        train_step,
        in_shardings=(state_sharding, batch_sharding(mesh, batch_axis=1)),
        out_shardings=(state_sharding, NamedSharding(mesh, PartitionSpec())),
        donate_argnums=0,
    )
    return lambda state, *batch_AxB: jitted(state, batch_AxB)


def build(name, mc: GPTConfig, tc16: TrainConfig, params0, batches, mesh):
    """(step, state, batch, tokens per step) of one variant, compiled (one step taken)."""
    parts = {"combo": {"flatp", "dbias", "qkv", "nopnorm"}, "dbias_qkv": {"dbias", "qkv"}}.get(name, {name})
    tc = dataclasses.replace(tc16, batch_size=2 * tc16.batch_size) if name == "b32" else tc16
    batch = batches[32 if name == "b32" else 16]
    changes = (DBIAS if "dbias" in parts else []) + (QKV if "qkv" in parts else [])
    model, T = GPT(mc), mc.block_size
    params = jax.tree.map(jnp.copy, params0)  # each variant its own buffers (states are donated)
    with patched(changes):
        loss_fn = language_model_loss(model, tc)
        if "flatp" in parts:
            flat = Flattener(params0)
            optimizer = flat_optimizer(tc, flat.n_decayed)
            params = flat.ravel(params)
            base_loss = loss_fn
            loss_fn = lambda p, b, key=None: base_loss(flat.unravel(p), b, key)
        else:
            optimizer = optax_flat_optimizer(tc) if "optax_flat" in parts else make_optimizer(tc)
        state = shard_state(init_train_state(model, optimizer, 0, (np.zeros((1, T), np.int32),), params=params), mesh)
        sharding = jax.tree.map(lambda a: a.sharding, state)
        if name in ("base", "b32"):
            step = make_train_step(loss_fn, optimizer, tc, sharding, mesh)
        else:
            step = lean_train_step(loss_fn, optimizer, tc, sharding, mesh, param_norm="nopnorm" not in parts)
        start = time.perf_counter()
        state, metrics = step(state, *batch)  # traces (under the patches) and compiles
        jax.block_until_ready((state, metrics))
    print(
        f"{name:10s} compiled in {time.perf_counter() - start:5.1f} s, loss {float(metrics['loss']):.6f}, "
        f"grad_norm {float(metrics['grad_norm']):.6f}",
        flush=True,
    )
    return [step, state, batch, tc.batch_size * T]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--variants", default=None, help=f"comma-separated, of {','.join(ALL)} (default: {DEFAULT})")
    parser.add_argument("--rounds", type=int, default=5, help="timed windows per variant, taken in turns")
    parser.add_argument("--window", type=int, default=10, help="steps per timed window")
    parser.add_argument("--tiny", action="store_true", help="CPU check: 2 layers, 64 wide, block 64, float32")
    args = parser.parse_args()
    if args.tiny:
        mc = GPTConfig(block_size=64, vocab_size=256, n_layer=2, n_head=2, n_embd=64, attention_impl="xla")
        # a constant 3e-3 (not warmup from 6e-4 / 2001): the parameters move, so a wrong gradient shows in the loss
        tc16 = TrainConfig(batch_size=4, dtype="float32", learning_rate=3e-3, decay_lr=False)
        names = (args.variants or "base,copy," + DEFAULT.removeprefix("base,") + ",dbias,qkv").split(",")
    else:
        mc = GPTConfig.from_preset("gpt2", vocab_size=50304, attention_impl="cudnn")
        tc16 = TrainConfig(batch_size=16, dtype="bfloat16")
        names = (args.variants or DEFAULT).split(",")
    unknown = [n for n in names if n not in ALL]
    if unknown:
        parser.error(f"unknown variants {unknown}: choose from {','.join(ALL)}")
    print(
        f"jax {jax.__version__}, optax {optax.__version__}, flax {flax.__version__}; "
        f"{jax.devices()[0].device_kind} ({jax.default_backend()}); XLA_FLAGS={os.environ.get('XLA_FLAGS', '')!r}"
    )
    print(mc, f"batch {tc16.batch_size}, {tc16.dtype}", flush=True)

    mesh, T = data_mesh(), mc.block_size
    rng = np.random.default_rng(0)
    xy16 = tuple(rng.integers(0, mc.vocab_size, (1, tc16.batch_size, T), dtype=np.int32) for _ in "xy")
    batches = {16: shard_batch(xy16, mesh, 1)}
    if "b32" in names:  # the batch-16 sequences twice: the same mean loss and gradient
        batches[32] = shard_batch(tuple(np.concatenate([a, a], axis=1) for a in xy16), mesh, 1)
    params0 = jax.jit(GPT(mc).init)(jax.random.split(jax.random.key(0))[0], np.zeros((1, T), np.int32))["params"]
    n_params = count_params(params0)
    fpt = flops_per_token(n_params, mc.n_layer, mc.n_embd, T)
    print(
        f"{n_params:,} parameters, {fpt / 1e6:.1f} MFLOP/token; 50 % MFU at batch {tc16.batch_size} = "
        f"{fpt * tc16.batch_size * T / (0.5 * PEAK) * 1e3:.2f} ms/step",
        flush=True,
    )

    t0 = time.perf_counter()
    runs = {}
    for name in names:  # a variant that fails to build is reported and left out, not the end of the run
        try:
            runs[name] = build(name, mc, tc16, params0, batches, mesh)
        except Exception as error:  # noqa: BLE001
            print(f"{name:10s} FAILED: {type(error).__name__}: {str(error)[:400]}", flush=True)
    print(f"all compiled in {time.perf_counter() - t0:.0f} s", flush=True)

    best = {name: float("inf") for name in runs}
    for r in range(args.rounds):
        for name, run in runs.items():
            start = time.perf_counter()
            for _ in range(args.window):
                run[1], metrics = run[0](run[1], *run[2])
            jax.block_until_ready((run[1], metrics))
            best[name] = min(best[name], (time.perf_counter() - start) / args.window * 1e3)
        print(f"round {r + 1}: " + ", ".join(f"{k} {v:.2f}" for k, v in best.items()), flush=True)

    base_ms = best.get("base")
    if not runs:
        return 1
    losses = {}
    for name, run in runs.items():
        run[1], metrics = run[0](run[1], *run[2])
        losses[name] = float(metrics["loss"])
    steps = int(next(iter(runs.values()))[1].step)
    print(f"\n{'variant':10s} {'ms/step':>8s} {'MFU':>6s} {'vs base':>8s}   loss after {steps} steps on one batch")
    for name, run in runs.items():
        ms, tokens = best[name], run[3]
        mfu = fpt * tokens / (ms / 1e3) / PEAK
        per16 = ms * tc16.batch_size * T / tokens  # b32: per batch-16's worth of tokens
        vs = f"{per16 - base_ms:+8.2f}" if base_ms is not None else ""
        note = f"  (= {per16:.2f} ms per 16 sequences)" if tokens != tc16.batch_size * T else ""
        diff = f"  (base {losses[name] - losses['base']:+.2e})" if "base" in losses else ""
        print(f"{name:10s} {ms:8.2f} {100 * mfu:5.1f}% {vs}   {losses[name]:.6f}{diff}{note}")
    return 0


if __name__ == "__main__":
    restart_with_fast_allocator()  # as every jaxgpt script: re-executes this file once with it
    add_fast_xla_flags()  # cuDNN LayerNorm, as every jaxgpt script (before JAX starts a backend)
    sys.exit(main())
