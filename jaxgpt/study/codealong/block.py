"""The video's `Block`: communication (attention) then computation (feed-forward)."""

from __future__ import annotations

import flax.linen as nn

from jaxgpt.study.codealong.attention import MultiHeadAttention
from jaxgpt.study.codealong.config import CodeAlongConfig
from jaxgpt.study.codealong.feedforward import FeedFoward


class Block(nn.Module):
    """x [B, T, C] -> [B, T, C]: `sa` (n_head heads of C / n_head) then `ffwd` (if config.ffwd), each
    as x + f(ln(x)) with config.residual and config.layernorm (pre-LN, `ln1` and `ln2`), else f(x)."""

    config: CodeAlongConfig
    attention_class: type | None = None  # your MultiHeadAttention in place of the video's
    ffwd_class: type | None = None  # your FeedFoward

    @nn.compact
    def __call__(self, x_BxTxC, train: bool = False):
        config = self.config
        attention = (self.attention_class or MultiHeadAttention)(config, config.n_head, config.head_size, name="sa")
        sublayers = [("ln1", attention)]
        if config.ffwd:
            sublayers.append(("ln2", (self.ffwd_class or FeedFoward)(config, name="ffwd")))
        for ln_name, sublayer in sublayers:
            y_BxTxC = nn.LayerNorm(epsilon=1e-5, name=ln_name)(x_BxTxC) if config.layernorm else x_BxTxC
            # the residual: gradients flow straight down the sum, so deep stacks train from the start
            x_BxTxC = x_BxTxC + sublayer(y_BxTxC, train) if config.residual else sublayer(y_BxTxC, train)
        return x_BxTxC
