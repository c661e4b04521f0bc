"""The video's `FeedFoward` (its spelling): each position thinks on its own about what attention gathered."""

from __future__ import annotations

import flax.linen as nn

from jaxgpt.study.codealong.config import CodeAlongConfig
from jaxgpt.study.codealong.layers import Linear


class FeedFoward(nn.Module):
    """x [B, T, C] -> [B, T, C]: `net_0` (C -> C) and ReLU; with config.residual, as the video widens
    it with the residual, `net_0` (C -> 4C), ReLU, `net_2` (4C -> C) and dropout."""

    config: CodeAlongConfig

    @nn.compact
    def __call__(self, x_BxTxC, train: bool = False):
        C = self.config.n_embd
        if not self.config.residual:
            return nn.relu(Linear(C, name="net_0")(x_BxTxC))
        h_BxTx4C = nn.relu(Linear(4 * C, name="net_0")(x_BxTxC))
        out_BxTxC = Linear(C, name="net_2")(h_BxTx4C)  # net_1 is the ReLU, as in the video's nn.Sequential
        return nn.Dropout(self.config.dropout, deterministic=not train)(out_BxTxC)
