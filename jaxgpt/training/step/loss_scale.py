"""Dynamic loss scaling, for float16 training (Micikevicius et al. 2018, "Mixed Precision Training").

float16 holds numbers only up to 65504 and down to about 6e-8: many gradients of a small loss fall
below that and become 0. Multiplying the loss by a large `scale` lifts them into range; the
gradients are divided by it again in float32 before the optimizer sees them. A scale too large
makes some gradient overflow to inf: that step is skipped (parameters and optimizer untouched)
and the scale halved; after `growth_interval` finite steps in a row it is doubled again.
The rule and its defaults are PyTorch's `torch.amp.GradScaler`, the one nanoGPT uses.

bfloat16 has float32's range and needs none of this; the train state then holds no `LossScale`.
"""

from __future__ import annotations

import flax
import jax
import jax.numpy as jnp

INITIAL_SCALE = 2.0**16  # GradScaler's init_scale
GROWTH_INTERVAL = 2000  # finite steps in a row before the scale doubles


@flax.struct.dataclass
class LossScale:
    scale: jax.Array  # float32: the loss is multiplied by this before differentiating
    good_steps: jax.Array  # int32: finite steps in a row since the scale last changed
    skipped_steps: jax.Array  # int32: steps skipped for an overflow over the whole run
    growth_interval: int = flax.struct.field(pytree_node=False, default=GROWTH_INTERVAL)

    @classmethod
    def initial(cls, scale: float | None = None, growth_interval: int = GROWTH_INTERVAL) -> LossScale:
        """A run's first scale: `scale`, by default INITIAL_SCALE."""
        scale = INITIAL_SCALE if scale is None else scale
        return cls(jnp.float32(scale), jnp.int32(0), jnp.int32(0), growth_interval)

    def unscale(self, scaled_grads):
        """The true gradients, in float32, from those of scale * loss."""
        return jax.tree.map(lambda g: g.astype(jnp.float32) / self.scale, scaled_grads)

    def adjust(self, finite: jax.Array) -> LossScale:
        """The scale for the next step: halved after an overflow (`finite` False), doubled after
        `growth_interval` finite steps in a row, else unchanged."""
        grown = self.good_steps + 1 == self.growth_interval
        scale = jnp.where(finite, jnp.where(grown, self.scale * 2.0, self.scale), self.scale * 0.5)
        scale = jnp.maximum(scale, jnp.finfo(jnp.float32).tiny)  # halving forever must not reach 0
        good_steps = jnp.where(finite & ~grown, self.good_steps + 1, 0)
        return self.replace(
            scale=scale.astype(jnp.float32),
            good_steps=good_steps.astype(jnp.int32),
            skipped_steps=self.skipped_steps + (~finite).astype(jnp.int32),
        )
