"""A finished run's numbers, computed afresh from one checkpoint (`scripts/eval.py`):

- a GPT run: the loss on the whole train and validation splits (every token scored once, see
  `evaluate.whole_split_loss`), perplexity exp(loss), and bits per character (character runs) or
  per token (BPE runs), loss / ln 2;
- an encoder-decoder run: exact-match accuracy on 500 held-out sources, greedy and beam search.
Deterministic: no sampling anywhere, so the same checkpoint always gives the same numbers.
"""

from __future__ import annotations

import math

from jaxgpt.model.config import TransformerConfig
from jaxgpt.model.transformer import Transformer
from jaxgpt.training.config import TrainConfig
from jaxgpt.training.evaluate import whole_split_loss
from jaxgpt.training.restore import restore_model, restore_run
from jaxgpt.training.run_dir import RunDir
from jaxgpt.training.sharding import data_mesh
from jaxgpt.training.tasks import TASKS
from jaxgpt.training.tokenizer import CharTokenizer
from jaxgpt.training.train_gpt import load_data
from jaxgpt.training.train_seq2seq import exact_match


def evaluate_gpt_run(out_dir, checkpoint: str | int = "best", batch_size: int = 64, data_file=None) -> dict:
    """{iter, unit, train/val: {loss, perplexity, bits, tokens}} of a GPT run's checkpoint, on the
    run's own data (or `data_file`, a copy of the text it was trained on)."""
    mesh = data_mesh()
    model, params, tokenizer, meta = restore_model(out_dir, checkpoint, mesh)
    batch_size = -(-batch_size // mesh.size) * mesh.size  # a multiple of the devices: each takes a share
    train_config = meta["train"] if data_file is None else {**meta["train"], "data_file": str(data_file)}
    data = load_data(TrainConfig(**train_config), tokenizer)
    unit = "character" if isinstance(tokenizer, CharTokenizer) else "token"
    result = {"iter": meta["iter"], "unit": unit}
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


def evaluate_seq2seq_run(out_dir, checkpoint: str | int = "best", n: int = 500, beam_size: int = 4) -> dict:
    """{iter, task, greedy, beam} exact-match accuracies of an encoder-decoder run's checkpoint."""
    restored = restore_run(out_dir, "seq2seq", checkpoint)
    meta = restored.meta
    model, task = Transformer(TransformerConfig(**meta["model"])), TASKS[meta["task"]]
    greedy, _ = exact_match(model, restored.state.params, task, n=n)
    beam, _ = exact_match(model, restored.state.params, task, n=n, beam_size=beam_size)
    return {"iter": meta["iter"], "task": meta["task"], "n": n, "greedy": greedy, "beam": beam, "beam_size": beam_size}


def evaluate_run(out_dir, checkpoint: str | int = "best", batch_size: int = 64, data_file=None) -> dict:
    """`evaluate_gpt_run` or `evaluate_seq2seq_run`, as the run folder's config.json says."""
    run = RunDir(out_dir)
    config = (run.read_config() if run.path.is_dir() else None) or {}  # a missing folder: restore says so
    if config.get("kind", "gpt") == "seq2seq":
        return evaluate_seq2seq_run(out_dir, checkpoint)
    return evaluate_gpt_run(out_dir, checkpoint, batch_size, data_file)
