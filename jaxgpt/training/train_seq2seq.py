"""Training and decoding the encoder-decoder Transformer: label-smoothed loss, greedy and beam
search with a decoder KV cache, exact-match accuracy, and a trainer on the shared training loop."""

from __future__ import annotations

import dataclasses
import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.training.checkpoint import CheckpointError
from jaxgpt.model.config import TransformerConfig
from jaxgpt.training.loop import (
    TrainState,
    abstract_train_state,
    cast_params,
    check_optimizer_fits,
    init_train_state,
    make_optimizer,
    restored_losses,
    token_cross_entropy,
    training_loop,
)
from jaxgpt.model.params import count_params
from jaxgpt.training.run_dir import RunDir
from jaxgpt.training.sharding import check_divisible, data_mesh, shard_state
from jaxgpt.training.tasks import BOS, EOS, PAD, TASKS, TaskSampler
from jaxgpt.training.config import DTYPES, TrainConfig
from jaxgpt.model.transformer import Transformer


def label_smoothed_loss(logits_BxTxV, targets_BxT, epsilon=0.1, pad_id=PAD):
    """Cross-entropy against (1 - eps) * one_hot + eps / V (paper section 5.4), averaged over the
    non-padding target tokens only."""
    per_token_BxT = token_cross_entropy(logits_BxTxV, targets_BxT, epsilon)
    real_BxT = targets_BxT != pad_id
    return jnp.sum(per_token_BxT * real_BxT) / jnp.maximum(jnp.sum(real_BxT), 1)


def seq2seq_loss(model: Transformer, config: TrainConfig):
    """`loss(params, (src, tgt_in, tgt_out), dropout_key)`: teacher forcing, label smoothing, pads masked."""
    dtype = DTYPES[config.dtype]

    def loss(params, batch, dropout_key=None):
        src_BxS, tgt_in_BxT, tgt_out_BxT = batch
        logits_BxTxV = model.apply(
            {"params": cast_params(params, dtype)},
            src_BxS,
            tgt_in_BxT,
            deterministic=dropout_key is None,
            rngs=None if dropout_key is None else {"dropout": dropout_key},
        )
        return label_smoothed_loss(logits_BxTxV, tgt_out_BxT, config.label_smoothing)

    return loss


# ---- decoding --------------------------------------------------------------------------------


def decoder_step(model: Transformer, params, cache, token_Bx1, memory_BxSxC, src_BxS, t):
    """One cached decoder step: the token at position t in, next-token logits [B, V] and the
    updated cache out. cache=None creates the cache (and projects the memory's keys and values)."""
    variables = {"params": params} if cache is None else {"params": params, "cache": cache}
    logits_Bx1xV, updated = model.apply(
        variables,
        token_Bx1,
        memory_BxSxC,
        src_BxS,
        decode=True,
        offset=t,
        mutable=["cache"],
        method=Transformer.decode,
    )
    return logits_Bx1xV[:, 0], updated["cache"]


@partial(jax.jit, static_argnames=("config", "max_len", "use_cache"))
def greedy_decode(config: TransformerConfig, params, src_BxS, max_len: int, use_cache: bool = True):
    """The most likely next token, step by step: target ids [B, max_len] (EOS, then pads once done).

    With the cache each step feeds one token; without it each step reruns the decoder on the
    whole prefix. The encoder runs once either way."""
    model = Transformer(config)
    B = src_BxS.shape[0]
    memory_BxSxC = model.apply({"params": params}, src_BxS, method=Transformer.encode)
    tokens_BxL = jnp.full((B, max_len + 1), PAD, jnp.int32).at[:, 0].set(BOS)  # BOS, then the outputs

    def choose(tokens_BxL, t, logits_BxV, done_B):
        token_B = jnp.where(done_B, PAD, jnp.argmax(logits_BxV, axis=-1))
        return tokens_BxL.at[:, t + 1].set(token_B), done_B | (token_B == EOS)

    if use_cache:

        def body(t, carry):  # feed token t, choose token t + 1
            tokens_BxL, cache, done_B = carry
            token_Bx1 = jax.lax.dynamic_slice_in_dim(tokens_BxL, t, 1, axis=1)
            logits_BxV, cache = decoder_step(model, params, cache, token_Bx1, memory_BxSxC, src_BxS, t)
            tokens_BxL, done_B = choose(tokens_BxL, t, logits_BxV, done_B)
            return tokens_BxL, cache, done_B

        # the first step creates the cache, projecting the memory's keys and values once for all steps
        logits_BxV, cache = decoder_step(model, params, None, tokens_BxL[:, :1], memory_BxSxC, src_BxS, 0)
        tokens_BxL, done_B = choose(tokens_BxL, 0, logits_BxV, jnp.zeros((B,), bool))
        tokens_BxL, _, _ = jax.lax.fori_loop(1, max_len, body, (tokens_BxL, cache, done_B))
    else:

        def body(t, carry):
            tokens_BxL, done_B = carry
            logits_BxLxV = model.apply(
                {"params": params}, tokens_BxL[:, :-1], memory_BxSxC, src_BxS, method=Transformer.decode
            )
            # causal: the logits at t ignore the not-yet-written slots after it
            return choose(tokens_BxL, t, jax.lax.dynamic_index_in_dim(logits_BxLxV, t, 1, False), done_B)

        tokens_BxL, _ = jax.lax.fori_loop(0, max_len, body, (tokens_BxL, jnp.zeros((B,), bool)))
    return tokens_BxL[:, 1:]


def length_penalty(length, alpha):
    """GNMT's ((5 + length) / 6) ** alpha (Wu et al. 2016): alpha 0 ranks by total log-probability."""
    return ((5.0 + length) / 6.0) ** alpha


@partial(jax.jit, static_argnames=("config", "max_len", "beam_size", "alpha"))
def beam_search(config: TransformerConfig, params, src_BxS, max_len: int, beam_size: int = 4, alpha: float = 0.6):
    """Keep the `beam_size` most likely partial targets per source; return the best finished one
    by log-probability / length_penalty: target ids [B, max_len].

    A beam that has produced EOS is finished: it continues with pads at no cost and keeps its
    score. The encoder runs once per source and the memory's keys and values are projected once."""
    model = Transformer(config)
    B, K = src_BxS.shape[0], beam_size
    memory_BxSxC = model.apply({"params": params}, src_BxS, method=Transformer.encode)
    # every beam of a source reads the same memory: flatten (source, beam) into one batch axis
    src_BKxS = jnp.repeat(src_BxS, K, axis=0)
    memory_BKxSxC = jnp.repeat(memory_BxSxC, K, axis=0)
    tokens_BxKxL = jnp.full((B, K, max_len + 1), PAD, jnp.int32).at[:, :, 0].set(BOS)
    # only beam 0 is alive at first, so the first step does not pick K copies of one token
    scores_BxK = jnp.tile(jnp.array([0.0] + [-jnp.inf] * (K - 1)), (B, 1))
    done_BxK = jnp.zeros((B, K), bool)
    lengths_BxK = jnp.zeros((B, K), jnp.int32)

    def step(t, carry):
        tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, cache = carry
        last_BKx1 = jax.lax.dynamic_slice_in_dim(tokens_BxKxL, t, 1, axis=2).reshape(B * K, 1)
        logits_BKxV, cache = decoder_step(model, params, cache, last_BKx1, memory_BKxSxC, src_BKxS, t)
        V = logits_BKxV.shape[-1]
        log_probs_BxKxV = jax.nn.log_softmax(logits_BKxV.astype(jnp.float32)).reshape(B, K, V)
        # a finished beam may only add a pad, at no cost
        pad_only_V = jnp.full((V,), -jnp.inf).at[PAD].set(0.0)
        log_probs_BxKxV = jnp.where(done_BxK[..., None], pad_only_V, log_probs_BxKxV)
        candidates_BxKV = (scores_BxK[..., None] + log_probs_BxKxV).reshape(B, K * V)
        scores_BxK, flat_BxK = jax.lax.top_k(candidates_BxKV, K)
        beam_BxK, token_BxK = flat_BxK // V, flat_BxK % V
        # follow each survivor's parent: its tokens, state and cache rows
        take = lambda a_BxK_: jnp.take_along_axis(a_BxK_, beam_BxK.reshape(B, K, *[1] * (a_BxK_.ndim - 2)), axis=1)
        tokens_BxKxL = take(tokens_BxKxL).at[:, :, t + 1].set(token_BxK)
        parent_done_BxK = take(done_BxK)
        lengths_BxK = take(lengths_BxK) + (~parent_done_BxK).astype(jnp.int32)
        done_BxK = parent_done_BxK | (token_BxK == EOS)
        rows_BK = (jnp.arange(B)[:, None] * K + beam_BxK).reshape(B * K)
        cache = jax.tree.map(lambda c: c[rows_BK] if c.ndim > 0 else c, cache)
        return tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, cache

    carry = step(0, (tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, None))  # creates the cache
    tokens_BxKxL, scores_BxK, done_BxK, lengths_BxK, _ = jax.lax.fori_loop(1, max_len, step, carry)
    normalized_BxK = scores_BxK / length_penalty(lengths_BxK.astype(jnp.float32), alpha)
    best_B = jnp.argmax(normalized_BxK, axis=1)
    return jnp.take_along_axis(tokens_BxKxL, best_B[:, None, None], axis=1)[:, 0, 1:]


def exact_match(config: TransformerConfig, params, task, n: int = 500, seed: int = 0, beam_size: int = 1):
    """Share of `n` held-out sources whose whole decoded target is right, and the (source,
    expected, decoded) triples."""
    sources, targets = zip(*TaskSampler(task, seed, split="val").examples(n))
    src_NxS = np.stack([task.encode_source(s) for s in sources])
    if beam_size == 1:
        decoded_NxL = greedy_decode(config, params, src_NxS, task.tgt_len)
    else:
        decoded_NxL = beam_search(config, params, src_NxS, task.tgt_len, beam_size)
    outputs = [task.decode_target(row) for row in np.asarray(decoded_NxL)]
    accuracy = float(np.mean([o == t for o, t in zip(outputs, targets)]))
    return accuracy, list(zip(sources, targets, outputs))


# ---- training --------------------------------------------------------------------------------

# copy, reverse and sort on a laptop CPU in minutes: Adam with the paper's beta2 = 0.98 and the
# inverse-square-root schedule, label smoothing 0.1, no dropout (the data never repeats)
SEQ2SEQ_RECIPE = dict(
    out_dir="out-seq2seq",
    eval_interval=250,
    eval_iters=10,
    log_interval=25,
    always_save_checkpoint=False,
    batch_size=64,
    learning_rate=2e-3,
    max_iters=2000,
    lr_schedule="noam",
    warmup_iters=200,
    beta2=0.98,
    weight_decay=0.0,
    label_smoothing=0.1,
)


@dataclasses.dataclass
class Seq2SeqResult:
    state: TrainState
    model_config: TransformerConfig
    task: object
    best_val_loss: float
    last_losses: dict


def _example_inputs(task):
    return np.zeros((1, task.src_len), np.int32), np.zeros((1, task.tgt_len), np.int32)


def seq2seq_abstract_state(meta: dict, mesh) -> TrainState:
    """The shapes of the train state a seq2seq checkpoint holds, from its JSON."""
    if meta.get("kind") != "seq2seq":
        raise CheckpointError(
            f"this is a {meta.get('kind', 'gpt')} checkpoint, not a seq2seq one: use scripts/train.py"
        )
    config = TrainConfig(**meta["train"])
    model = Transformer(TransformerConfig(**meta["model"]))
    example_inputs = _example_inputs(TASKS[meta["task"]])
    return abstract_train_state(model, make_optimizer(config), mesh, example_inputs, config.dropout_rng)


def train_seq2seq(
    config: TrainConfig,
    task_name: str = "reverse",
    model_config: TransformerConfig | None = None,
    progress: bool = True,
    echo=print,
    move_old_run: bool = False,
) -> Seq2SeqResult:
    """Train the encoder-decoder Transformer on a synthetic task with the shared training loop;
    init_from="resume" continues the run in out_dir (model, task and sampler from its newest
    verified checkpoint). A new run stops before writing anything if out_dir holds another run,
    unless `move_old_run` renames that folder first."""
    if config.init_from not in ("scratch", "resume"):
        raise ValueError(f"init_from={config.init_from!r}: the seq2seq trainer starts from scratch or resume")
    if config.init_from == "scratch" and task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}: known tasks are {', '.join(TASKS)}")
    run = RunDir.for_training(config, "seq2seq", move_old_run)
    mesh = data_mesh(spec=config.mesh)
    check_divisible(config.batch_size, mesh)
    restored = None
    if config.init_from == "resume":
        restored = run.resume(config, lambda meta: seq2seq_abstract_state(meta, mesh))
        model_config, task = TransformerConfig(**restored.meta["model"]), TASKS[restored.meta["task"]]
    else:
        task = TASKS[task_name]
        model_config = dataclasses.replace(
            model_config or TransformerConfig.from_preset("transformer-tiny"),
            src_vocab_size=task.src_vocab_size,
            tgt_vocab_size=task.tgt_vocab_size,
            block_size=max(task.src_len, task.tgt_len),
            pad_id=PAD,
        )
    model, optimizer = Transformer(model_config), make_optimizer(config)
    sampler = TaskSampler(task, config.seed, "train")
    if restored is not None:
        check_optimizer_fits(restored.state, optimizer, run.path)
        state = restored.state
        sampler.state, best_val_loss = restored.meta["sampler_state"], restored.meta["best_val_loss"]
        echo(f"resuming from iteration {restored.step} in {run.path}")
    else:
        initial = init_train_state(model, optimizer, config.seed, None, _example_inputs(task), config.dropout_rng)
        state = shard_state(initial, mesh)
        best_val_loss = math.inf
    run_config = {
        "kind": "seq2seq",
        "task": task.name,
        "model": dataclasses.asdict(model_config),
        "train": dataclasses.asdict(config),
    }
    checkpoints = run.start(config, run_config, move_old_run, echo, restored)
    A, B = config.gradient_accumulation_steps, config.batch_size
    tokens_per_iter = A * B * (task.src_len + task.tgt_len)
    n_params = count_params(state.params)
    echo(f"task {task.name}: {n_params / 1e6:.2f}M parameters, {tokens_per_iter:,} tokens per iteration")
    loss_fn = seq2seq_loss(model, config)

    def eval_batches(split):  # the same batches at every evaluation, from their own seeded stream
        split_sampler = TaskSampler(task, config.seed + {"train": 1, "val": 2}[split], split)
        return [split_sampler.sample(B) for _ in range(config.eval_iters)]

    state, best_val_loss, last_losses = training_loop(
        config,
        state,
        loss_fn,
        optimizer,
        next_batch=lambda: sampler.sample(A, B),
        eval_batches=eval_batches,
        checkpoint_meta=lambda: {**run_config, "sampler_state": sampler.state},
        checkpoints=checkpoints,
        mesh=mesh,
        tokens_per_iter=tokens_per_iter,
        flops_per_iter=6 * n_params * tokens_per_iter,
        best_val_loss=best_val_loss,
        last_losses=restored_losses(restored),
        progress=progress,
    )
    return Seq2SeqResult(state, model_config, task, best_val_loss, last_losses)
