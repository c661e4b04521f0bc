"""The position-wise feed-forward network (Vaswani et al. 2017, section 3.3), GPT-2's `mlp`."""

import flax.linen as nn
import jax

from jaxgpt.model.dense import Dense

ACTIVATIONS = {
    "gelu_tanh": lambda x: jax.nn.gelu(x, approximate=True),  # GPT-2's "gelu_new"
    "gelu": lambda x: jax.nn.gelu(x, approximate=False),  # exact, x * Phi(x)
    "relu": jax.nn.relu,  # the 2017 paper
}


class FeedForward(nn.Module):
    """Linear C -> F, activation, linear F -> C, dropout; applied to every position alone.

    Names follow GPT-2: `c_fc` widens, `c_proj` projects back into the residual stream
    (and gets the smaller residual init, `proj_init_std`).
    """

    d_ff: int  # F, 4 * C in GPT-2 and the paper
    dropout: float = 0.0
    bias: bool = True
    activation: str = "gelu_tanh"
    init_std: float = 0.02
    proj_init_std: float = 0.02

    @nn.compact
    def __call__(self, x_BxTxC, deterministic=True):
        C = x_BxTxC.shape[-1]
        h_BxTxF = Dense(self.d_ff, use_bias=self.bias, kernel_init=nn.initializers.normal(self.init_std), name="c_fc")(
            x_BxTxC
        )
        h_BxTxF = ACTIVATIONS[self.activation](h_BxTxF)
        y_BxTxC = Dense(C, use_bias=self.bias, kernel_init=nn.initializers.normal(self.proj_init_std), name="c_proj")(
            h_BxTxF
        )
        return nn.Dropout(self.dropout)(y_BxTxC, deterministic=deterministic)
