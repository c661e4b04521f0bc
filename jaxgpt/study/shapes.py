"""Print tensor shapes, module by module, without computing anything.

"Print tensor shapes constantly" is the study guide's advice; `print_shapes(model, *inputs)` does
it for a whole model at once: every submodule call in the order it runs, with the shapes going in
and out and the parameters it owns. It traces with `jax.eval_shape`, so even GPT-2 XL costs no
memory and no FLOPs.

    >>> print_shapes(GPT(GPTConfig.from_preset("gpt-nano", vocab_size=65)), np.zeros((2, 16), np.int32))
"""

from __future__ import annotations

import dataclasses

import flax.linen as nn
import jax

from jaxgpt.model.params import count_params


@dataclasses.dataclass
class ModuleCall:
    path: tuple[str, ...]  # e.g. ("h_0", "attn", "c_attn"); () for the model itself
    module: str  # the class, e.g. "Dense"
    method: str  # "__call__", or another method such as Embed's "attend"
    inputs: list[str]  # "2x16 int32" per array argument
    outputs: list[str]
    params: int  # parameters under this module, its submodules' included

    @property
    def name(self) -> str:
        return self.path[-1] if self.path else "(model)"


def _describe(tree) -> list[str]:
    """'2x16 int32' for each array in `tree`; flags such as deterministic=True are left out."""
    arrays = [leaf for leaf in jax.tree.leaves(tree) if hasattr(leaf, "shape") and hasattr(leaf, "dtype")]
    return [f"{'x'.join(map(str, a.shape)) or 'scalar'} {a.dtype}" for a in arrays]


def trace_shapes(model: nn.Module, *inputs, rng=None, **kwargs) -> list[ModuleCall]:
    """Every module call of `model.init(rng, *inputs, **kwargs)`, outermost first."""
    calls: list[tuple] = []
    open_calls: list[tuple] = []  # (path, method) of the calls under way

    def record(next_call, args, call_kwargs, context):
        module, method = context.module, context.method_name
        key = (tuple(module.path), method)
        # setup and private helpers are not calls of their own; a subclass calling its parent's
        # method (our Dense) is the same call
        hidden = (method.startswith("_") and method != "__call__") or method in ("setup", "<lambda>")  # remat's
        if hidden or open_calls[-1:] == [key]:
            return next_call(*args, **call_kwargs)
        slot = len(calls)
        calls.append(None)  # keep the calling order: the parent before its children
        open_calls.append(key)
        try:
            outputs = next_call(*args, **call_kwargs)
        finally:
            open_calls.pop()
        calls[slot] = (key[0], type(module).__name__, method, _describe(args), _describe(outputs))
        return outputs

    def init():
        with nn.intercept_methods(record):
            return model.init(jax.random.key(0) if rng is None else rng, *inputs, **kwargs)

    variables = jax.eval_shape(init)
    params = variables.get("params", {})

    def params_under(path):
        tree = params
        for name in path:
            if not isinstance(tree, dict) or name not in tree:
                return 0
            tree = tree[name]
        return count_params(tree)

    return [
        ModuleCall(path, module, method, inputs, outputs, params_under(path))
        for path, module, method, inputs, outputs in calls
    ]


def format_shapes(calls: list[ModuleCall]) -> str:
    """A table: one line per call, indented by depth."""
    rows = [("module", "in", "out", "params")]
    for call in calls:
        label = (
            "  " * len(call.path)
            + f"{call.name} ({call.module}"
            + (f".{call.method})" if call.method != "__call__" else ")")
        )
        rows.append((label, ", ".join(call.inputs), ", ".join(call.outputs), f"{call.params:,}"))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:<{widths[2]}}  {row[3]:>{widths[3]}}" for row in rows
    ]
    return "\n".join([lines[0], "-" * len(lines[0]), *lines[1:]])


def print_shapes(model: nn.Module, *inputs, **kwargs) -> list[ModuleCall]:
    """Print the table of `trace_shapes` and return its calls."""
    calls = trace_shapes(model, *inputs, **kwargs)
    print(format_shapes(calls))
    return calls
