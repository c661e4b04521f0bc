"""A run's numbers, computed afresh and deterministically (no sampling anywhere): each kind of run
has its evaluator here (`evaluate_gpt`, `evaluate_seq2seq`, `evaluate_gpt_seq2seq`, named by
jaxgpt.training.kinds).

A GPT run: the loss on a whole split, every token scored once: what a sample of `eval_iters` random
batches estimates (20 batches of 12 x 64 tokens see about 1.4 % of tiny Shakespeare's
validation split, and two runs' samples differ by ~0.01 nats from that alone).

The split is cut into windows of `block_size` + 1 tokens that overlap by one: window i predicts
tokens[i*T + 1 : i*T + T + 1] from tokens[i*T : i*T + T]. The last, shorter piece is scored from
the full window that ends at the split's last token, counting only its new targets, so every
token but the first is a target exactly once.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.data.packed_tasks import PackedTask
from jaxgpt.data.sources import load_dataset
from jaxgpt.data.tasks import BOS, EOS, TASKS, Seq2SeqTask, TaskSampler
from jaxgpt.data.tokenizer import CharTokenizer, tokenizer_from_dict
from jaxgpt.decoding.after_prompt import greedy_after_prompt
from jaxgpt.decoding.seq2seq import beam_search, greedy_decode
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.devices.sharding import data_mesh, shard_batch
from jaxgpt.training.step.cross_entropy import cross_entropy


def split_windows(tokens: np.ndarray, block_size: int):
    """(x [N, T], y [N, T], counted [N, T] bool) covering every target of `tokens` once."""
    T = block_size
    n_full = (len(tokens) - 1) // T
    starts = list(range(0, n_full * T, T))
    counted = [np.ones(T, bool)] * n_full
    remainder = (len(tokens) - 1) - n_full * T
    if remainder:
        starts.append(len(tokens) - 1 - T)  # the window ending at the last token
        counted.append(np.arange(T) >= T - remainder)  # only the targets no earlier window scored
    offsets_T = np.arange(T)
    x_NxT = tokens[np.array(starts)[:, None] + offsets_T].astype(np.int32)
    y_NxT = tokens[np.array(starts)[:, None] + offsets_T + 1].astype(np.int32)
    return x_NxT, y_NxT, np.stack(counted)


@functools.partial(jax.jit, static_argnums=0)  # one compilation per model and batch shape: every split reuses it
def _summed_loss(model, params, x_BxT, y_BxT, counted_BxT):
    losses_BxT = cross_entropy(model.apply({"params": params}, x_BxT), y_BxT)
    return jnp.sum(jnp.where(counted_BxT, losses_BxT, 0.0))


def whole_split_loss(model, params, tokens: np.ndarray, block_size: int, batch_size: int = 64, mesh=None) -> float:
    """The mean next-token cross-entropy over every target of `tokens` (float32 logits' loss); with
    a `mesh`, each batch is split over its devices (batch_size a multiple of their number)."""
    x_NxT, y_NxT, counted_NxT = split_windows(tokens, block_size)
    pad = -len(x_NxT) % batch_size  # whole batches: one compiled shape
    x_NxT, y_NxT = np.pad(x_NxT, ((0, pad), (0, 0))), np.pad(y_NxT, ((0, pad), (0, 0)))
    counted_NxT = np.pad(counted_NxT, ((0, pad), (0, 0)))

    total = 0.0
    for start in range(0, len(x_NxT), batch_size):
        rows = slice(start, start + batch_size)
        batch = (x_NxT[rows], y_NxT[rows], counted_NxT[rows])
        total += float(_summed_loss(model, params, *(batch if mesh is None else shard_batch(batch, mesh))))
    return total / counted_NxT.sum()


def exact_match(model: Transformer, params, task: Seq2SeqTask, n: int = 500, seed: int = 0, beam_size: int = 1):
    """Share of `n` held-out sources whose whole decoded target is right, and the (source,
    expected, decoded) triples."""
    sources, targets = zip(*TaskSampler(task, seed, split="val").examples(n))
    src_NxS = np.stack([task.encode_source(s) for s in sources])
    if beam_size == 1:
        decoded_NxL = greedy_decode(model, params, src_NxS, task.tgt_len, bos_id=BOS, eos_id=EOS)
    else:
        decoded_NxL = beam_search(model, params, src_NxS, task.tgt_len, bos_id=BOS, eos_id=EOS, beam_size=beam_size)
    outputs = [task.decode_target(row) for row in np.asarray(decoded_NxL)]
    accuracy = float(np.mean([o == t for o, t in zip(outputs, targets)]))
    return accuracy, list(zip(sources, targets, outputs))


def packed_exact_match(model, params, task: Seq2SeqTask, n: int = 500, seed: int = 0):
    """`exact_match` of a GPT trained on `task` packed (`jaxgpt.data.packed_tasks`): the same `n`
    held-out sources, each continued greedily after its separator."""
    packed = PackedTask(task)
    sources, targets = zip(*TaskSampler(task, seed, split="val").examples(n))
    prompts_NxP, starts_N = zip(*(packed.prompt(s) for s in sources))
    decoded_NxT = greedy_after_prompt(model, params, np.stack(prompts_NxP), np.array(starts_N), n_new=task.tgt_len)
    outputs = [packed.decode_target(row) for row in np.asarray(decoded_NxT)]
    accuracy = float(np.mean([o == t for o, t in zip(outputs, targets)]))
    return accuracy, list(zip(sources, targets, outputs))


def evaluate_gpt(model, params, meta: dict, batch_size: int = 64, data_file=None, **_) -> dict:
    """{iter, unit, train/val: {loss, perplexity, bits, tokens}} of a GPT run's checkpoint (`meta`
    its JSON) on the run's own data (or `data_file`, a copy of the text it was trained on): bits
    per character (character runs) or per token (BPE runs) are loss / ln 2."""
    mesh = data_mesh()
    batch_size = -(-batch_size // mesh.size) * mesh.size  # a multiple of the devices: each takes a share
    tokenizer = tokenizer_from_dict(meta["tokenizer"])
    train = TrainConfig.from_json(meta["train"])
    data_file = train.data_file if data_file is None else str(data_file)
    data = load_dataset(train.dataset, data_file, tokenizer, train.text_field, echo=lambda *_: None)
    result = {"iter": meta["iter"], "unit": "character" if isinstance(tokenizer, CharTokenizer) else "token"}
    for split in ("train", "val"):
        tokens = data.split(split)
        loss = whole_split_loss(model, params, tokens, model.config.block_size, batch_size, mesh)
        result[split] = {
            "loss": loss,
            "perplexity": math.exp(loss),
            "bits": loss / math.log(2),
            "tokens": len(tokens) - 1,
        }
    return result


def evaluate_seq2seq(model, params, meta: dict, n: int = 500, beam_size: int = 4, **_) -> dict:
    """{iter, task, greedy, beam} exact-match accuracies of an encoder-decoder run's checkpoint."""
    task = TASKS[meta["task"]]
    greedy, _ = exact_match(model, params, task, n=n)
    beam, _ = exact_match(model, params, task, n=n, beam_size=beam_size)
    return {"iter": meta["iter"], "task": meta["task"], "n": n, "greedy": greedy, "beam": beam, "beam_size": beam_size}


def evaluate_gpt_seq2seq(model, params, meta: dict, n: int = 500, **_) -> dict:
    """{iter, task, n, greedy} exact match of a decoder-only seq2seq run's checkpoint."""
    greedy, _ = packed_exact_match(model, params, TASKS[meta["task"]], n=n)
    return {"iter": meta["iter"], "task": meta["task"], "n": n, "greedy": greedy}
