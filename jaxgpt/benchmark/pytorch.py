"""The same work in PyTorch (scripts/bench.py --vs-torch): the same size, batch, compute dtype and
optimizer, on CUDA when present. The train step's peer is GPT written the way nanoGPT writes it
(benchmark/torch_gpt.py, the default) or transformers' GPT2LMHeadModel; generation is always
transformers', whose `generate` keeps a KV cache (nanoGPT's model has none). torch is imported
inside the functions: it is needed only when asked for."""

from __future__ import annotations

from jaxgpt.benchmark.timing import fastest_seconds
from jaxgpt.errors import InputError
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.pretrained import hf_config
from jaxgpt.training.config import TrainConfig

TORCH_PEERS = ("nanogpt", "transformers")


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
    if dtype in ("bfloat16", "float16"):
        return device, lambda: torch.autocast(device, dtype=getattr(torch, dtype))
    return device, contextlib.nullcontext


def _torch_sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def describe_peer(peer: str, model_config: GPTConfig, compile: bool = False) -> str:
    """Which PyTorch model ran and how, in words, for bench.py's report."""
    if peer == "nanogpt":
        model = f"nanoGPT-style model ({'biases' if model_config.bias else 'no biases'}, exact GELU, SDPA)"
    else:
        model = "transformers GPT2LMHeadModel (biases on)"
    return f"{model}, {'torch.compile' if compile else 'eager'}"


def _peer_model(peer: str, model_config: GPTConfig):
    if peer == "nanogpt":
        from jaxgpt.benchmark.torch_gpt import torch_gpt

        return torch_gpt(model_config)
    if peer == "transformers":
        return _torch_gpt2(model_config)
    raise InputError(f"peer={peer!r} is not one of {', '.join(TORCH_PEERS)}")


def _peer_loss(peer: str, model):
    """(x [B, T], y [B, T]) -> mean cross-entropy, the way the peer's own code computes it."""
    import torch

    if peer == "nanogpt":
        return lambda x, y: model(x, y)[1]  # nanoGPT's forward takes the targets and returns the loss

    def loss(x, y):
        logits = model(input_ids=x).logits  # transformers' own loss would shift the labels: ours are already
        return torch.nn.functional.cross_entropy(logits.float().view(-1, logits.size(-1)), y.reshape(-1))

    return loss


def time_torch_train_step(
    model_config: GPTConfig,
    train_config: TrainConfig,
    iters: int = 30,
    repeats: int = 3,
    peer: str = "nanogpt",
    compile: bool = False,
) -> dict:
    """ms per step of the PyTorch `peer` ("nanogpt": benchmark/torch_gpt.py, or "transformers":
    GPT2LMHeadModel) at the same size, batch, compute dtype (autocast) and optimizer (AdamW with decay
    on >= 2-D parameters, global-norm clipping), on random tokens, on CUDA when present (fused AdamW,
    scaled_dot_product_attention), after two warm-up steps; `compile` runs the model through
    torch.compile (nanoGPT's default on GPUs). The fastest of `repeats` windows, as time_train_step."""
    import torch

    from jaxgpt.benchmark.torch_gpt import torch_optimizer

    device, autocast = _torch_device_and_autocast(train_config.dtype)
    model = _peer_model(peer, model_config).to(device).train()
    optimizer = torch_optimizer(model, train_config, device)
    # the compiled module shares the parameters the optimizer holds
    loss_of = _peer_loss(peer, torch.compile(model) if compile else model)
    A, B, T = train_config.gradient_accumulation_steps, train_config.batch_size, model_config.block_size
    generator = torch.Generator().manual_seed(0)
    batches = [
        torch.randint(0, model_config.vocab_size, (2, A, B, T), generator=generator).to(device) for _ in range(4)
    ]

    # float16 as nanoGPT trains it: a GradScaler (disabled, a no-op, for the other dtypes)
    scaler = torch.amp.GradScaler(device, enabled=train_config.dtype == "float16")

    def step(batch):
        for x, y in zip(batch[0], batch[1]):
            with autocast():
                loss = loss_of(x, y) / A
            scaler.scale(loss).backward()
        if train_config.grad_clip > 0:
            scaler.unscale_(optimizer)
            torch.nn.utils.clip_grad_norm_(model.parameters(), train_config.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        optimizer.zero_grad(set_to_none=True)

    for i in range(2):  # with compile, the first step compiles
        step(batches[i])
    _torch_sync(device)

    def window():
        for i in range(iters):
            step(batches[i % len(batches)])
        _torch_sync(device)

    seconds = fastest_seconds(window, repeats) / iters
    return {"ms_per_iter": 1000 * seconds, "tokens_per_sec": A * B * T / seconds, "device": device, "peer": peer}


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
