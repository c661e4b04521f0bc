"""The same work in PyTorch, through transformers' GPT2LMHeadModel (scripts/bench.py --vs-torch):
the same size, batch, compute dtype and optimizer, on CUDA when present. torch is imported inside
the functions: it is needed only when asked for."""

from __future__ import annotations

from jaxgpt.benchmark.timing import fastest_seconds
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.pretrained import hf_config
from jaxgpt.training.config import TrainConfig


def _torch_gpt2(model_config: GPTConfig):
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    settings = hf_config(model_config)
    settings |= {
        "resid_pdrop": model_config.dropout,
        "embd_pdrop": model_config.dropout,
        "attn_pdrop": model_config.dropout,
    }
    # GPT-2's 50256 is outside a character vocabulary
    return GPT2LMHeadModel(GPT2Config(**settings, bos_token_id=0, eos_token_id=0))


def _torch_device_and_autocast(dtype: str):
    """PyTorch's device (CUDA when present) and an autocast context for the compute dtype."""
    import contextlib

    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"
    if dtype == "bfloat16":
        return device, lambda: torch.autocast(device, dtype=torch.bfloat16)
    return device, contextlib.nullcontext


def _torch_sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def time_torch_train_step(
    model_config: GPTConfig, train_config: TrainConfig, iters: int = 30, repeats: int = 3
) -> dict:
    """ms per step of transformers' GPT-2 at the same size, batch, compute dtype (autocast) and
    optimizer (AdamW with decay on >= 2-D parameters, global-norm clipping), on random tokens, on
    CUDA when present (fused AdamW, PyTorch's own scaled_dot_product_attention), after two warm-up
    steps; the fastest of `repeats` windows, as time_train_step."""
    import torch

    device, autocast = _torch_device_and_autocast(train_config.dtype)
    model = _torch_gpt2(model_config).to(device).train()
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW(
        [{"params": decay, "weight_decay": train_config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
        lr=train_config.learning_rate,
        betas=(train_config.beta1, train_config.beta2),
        fused=device == "cuda",
    )
    A, B, T = train_config.gradient_accumulation_steps, train_config.batch_size, model_config.block_size
    generator = torch.Generator().manual_seed(0)
    batches = [
        torch.randint(0, model_config.vocab_size, (2, A, B, T), generator=generator).to(device) for _ in range(4)
    ]

    def step(batch):
        for x, y in zip(batch[0], batch[1]):
            with autocast():
                logits = model(input_ids=x).logits
            loss = torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1)) / A
            loss.backward()
        if train_config.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    for i in range(2):
        step(batches[i])
    _torch_sync(device)

    def window():
        for i in range(iters):
            step(batches[i % len(batches)])
        _torch_sync(device)

    seconds = fastest_seconds(window, repeats) / iters
    return {"ms_per_iter": 1000 * seconds, "tokens_per_sec": A * B * T / seconds, "device": device}


def time_torch_generation(
    model_config: GPTConfig, new_tokens: int, use_cache: bool, repeats: int = 3, dtype: str = "float32"
) -> dict:
    """New tokens per second of transformers' `generate` (top_k 200 sampling, batch 1, one-token prompt)."""
    import torch

    device, autocast = _torch_device_and_autocast(dtype)
    model = _torch_gpt2(model_config).to(device).eval()
    prompt = torch.zeros((1, 1), dtype=torch.long, device=device)
    run = lambda: model.generate(  # noqa: E731
        prompt,
        max_new_tokens=new_tokens,
        min_new_tokens=new_tokens,
        do_sample=True,
        top_k=200,
        use_cache=use_cache,
        pad_token_id=0,
    )

    def synced_run():
        run()
        _torch_sync(device)

    with torch.no_grad(), autocast():
        synced_run()  # warm-up
        seconds = fastest_seconds(synced_run, repeats)
    return {"seconds": seconds, "tokens_per_sec": new_tokens / seconds}
