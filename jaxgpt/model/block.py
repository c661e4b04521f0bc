"""One transformer block: attention and feed-forward sub-layers, each inside a residual connection."""

import flax.linen as nn

from jaxgpt.errors import InputError
from jaxgpt.model.attention import MultiHeadAttention
from jaxgpt.model.feedforward import FeedForward
from jaxgpt.model.layernorm import LayerNorm


class TransformerBlock(nn.Module):
    """Self-attention, optional cross-attention (decoders of encoder-decoder models), feed-forward.

    norm_first=True is GPT-2's pre-LN: x + f(LN(x)), with a clean residual path from input to
    output. norm_first=False is the 2017 paper's post-LN: LN(x + f(x)).
    Sub-module names follow GPT-2 (`ln_1`, `attn`, `ln_2`, `mlp`) and Hugging Face's GPT-2
    cross-attention (`ln_cross_attn`, `crossattention`).
    """

    n_head: int
    d_ff: int  # F, the feed-forward's inner width
    dropout: float = 0.0
    bias: bool = True
    causal: bool = False
    cross_attention: bool = False
    norm_first: bool = True
    rotary: bool = False
    activation: str = "gelu_tanh"
    attention_impl: str = "manual"
    layer_norm_epsilon: float = 1e-5
    init_std: float = 0.02
    proj_init_std: float = 0.02
    max_len: int = 0  # KV cache length for decode=True

    @nn.compact
    def __call__(self, x_BxTxC, mask=None, context_BxSxC=None, context_mask=None, deterministic=True, decode=False):
        if self.cross_attention != (context_BxSxC is not None):
            raise InputError(
                f"cross_attention={self.cross_attention} but context "
                f"{'was not' if self.cross_attention else 'was'} given: pass a context exactly when cross_attention"
            )

        def residual(ln_name, sublayer, y_BxTxC):
            ln = LayerNorm(epsilon=self.layer_norm_epsilon, use_bias=self.bias, name=ln_name)
            if self.norm_first:
                return y_BxTxC + sublayer(ln(y_BxTxC))
            return ln(y_BxTxC + sublayer(y_BxTxC))

        def attention(name, causal, rotary):
            return MultiHeadAttention(
                n_head=self.n_head,
                dropout=self.dropout,
                bias=self.bias,
                causal=causal,
                rotary=rotary,
                implementation=self.attention_impl,
                init_std=self.init_std,
                proj_init_std=self.proj_init_std,
                max_len=self.max_len,
                name=name,
            )

        self_attention = attention("attn", self.causal, self.rotary)
        x_BxTxC = residual(
            "ln_1", lambda y: self_attention(y, mask=mask, deterministic=deterministic, decode=decode), x_BxTxC
        )
        if self.cross_attention:
            cross_attention = attention("crossattention", causal=False, rotary=False)
            x_BxTxC = residual(
                "ln_cross_attn",
                lambda y: cross_attention(
                    y, context_BxSxC, mask=context_mask, deterministic=deterministic, decode=decode
                ),
                x_BxTxC,
            )
        mlp = FeedForward(
            d_ff=self.d_ff,
            dropout=self.dropout,
            bias=self.bias,
            activation=self.activation,
            init_std=self.init_std,
            proj_init_std=self.proj_init_std,
            name="mlp",
        )
        return residual("ln_2", lambda y: mlp(y, deterministic=deterministic), x_BxTxC)
