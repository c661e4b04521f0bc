"""LayerNorm (Ba et al. 2016), written out: the same numbers as `flax.linen.LayerNorm`."""

import flax.linen as nn
import jax
import jax.numpy as jnp


class LayerNorm(nn.Module):
    """Normalise each position over its C channels to mean 0 and variance 1, then scale and shift.

    Parameters are named `scale` and `bias`, like `flax.linen.LayerNorm`, so the two are
    interchangeable; `use_bias=False` is nanoGPT's `bias=False`.
    """

    epsilon: float = 1e-5  # GPT-2's value (Flax's default is 1e-6)
    use_bias: bool = True

    @nn.compact
    def __call__(self, x_BxTxC):
        C = x_BxTxC.shape[-1]
        scale_C = self.param("scale", nn.initializers.ones, (C,))
        x32_BxTxC = x_BxTxC.astype(jnp.float32)  # statistics in float32, even in bfloat16 runs
        mean_BxTx1 = jnp.mean(x32_BxTxC, axis=-1, keepdims=True)
        var_BxTx1 = jnp.mean(jnp.square(x32_BxTxC - mean_BxTx1), axis=-1, keepdims=True)
        xhat_BxTxC = (x32_BxTxC - mean_BxTx1) * jax.lax.rsqrt(var_BxTx1 + self.epsilon)
        y_BxTxC = xhat_BxTxC * scale_C
        if self.use_bias:
            y_BxTxC = y_BxTxC + self.param("bias", nn.initializers.zeros, (C,))
        return y_BxTxC.astype(x_BxTxC.dtype)
