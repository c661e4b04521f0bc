"""Written by `python scripts/codealong_vs_torch.py --seeds 0,1,2` on 2026-12-04 08:21 UTC: do not edit, run it again.

The val loss of the video's PyTorch code (jaxgpt.benchmark.codealong_torch) at each stage of
jaxgpt.study.codealong.STAGES, trained from the first seed's weights on its batches, and how far a
different random start fell from it (SEED_SPREAD: the other seeds in PyTorch, and jaxgpt from its
own initialisation, as the notebook trains): the notebook prints TORCH_VAL_LOSS beside yours."""

TORCH_VAL_LOSS = {
    "bigram": 2.5077,
    "one head": 2.5119,
    "multi-head": 2.5088,
    "feed-forward": 2.4511,
    "blocks": 3.1628,
    "residual": 2.4750,
    "layernorm": 2.5116,
    "dropout": 2.5549,
    "scale-up": 2.3501,
}
SEED_SPREAD = {
    "bigram": 0.0033,
    "one head": 0.0150,
    "multi-head": 0.0226,
    "feed-forward": 0.0404,
    "blocks": 0.0678,
    "residual": 0.0125,
    "layernorm": 0.0227,
    "dropout": 0.0243,
    "scale-up": 0.0580,
}
