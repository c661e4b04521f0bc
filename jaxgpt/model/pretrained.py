"""OpenAI's GPT-2 weights in and out, in Hugging Face's safetensors layout (no PyTorch needed).

Our parameter names are GPT-2's checkpoint keys, so the mapping is mechanical:
`h_0/attn/c_attn/kernel` <-> `h.0.attn.c_attn.weight`, `ln_f/scale` <-> `ln_f.weight`,
`wte/embedding` <-> `wte.weight`. GPT-2's Conv1D stores its weight as (in, out), the same as a
Flax Dense kernel, so nothing is transposed (a torch `nn.Linear` would be (out, in)). The LM
head is tied to `wte`; the causal-mask buffers some files carry (`attn.bias`, `attn.masked_bias`)
are not weights and are skipped.
"""

from __future__ import annotations

import json
import pathlib

import jax
import jax.numpy as jnp
import numpy as np

from jaxgpt.errors import JaxgptError
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT

GPT2_REPOS = {
    "gpt2": "openai-community/gpt2",
    "gpt2-medium": "openai-community/gpt2-medium",
    "gpt2-large": "openai-community/gpt2-large",
    "gpt2-xl": "openai-community/gpt2-xl",
}
# our activation names -> Hugging Face's activation_function, and back (two names for GELU-tanh there)
HF_ACTIVATIONS = {"gelu_tanh": "gelu_new", "gelu": "gelu", "relu": "relu"}
_FROM_HF_ACTIVATIONS = {**{hf: ours for ours, hf in HF_ACTIVATIONS.items()}, "gelu_pytorch_tanh": "gelu_tanh"}


class PretrainedError(JaxgptError):
    """Weights that cannot be loaded as asked; the message names the file, key or shapes."""


def hf_key(path) -> str:
    """('h_0', 'attn', 'c_attn', 'kernel') -> 'h.0.attn.c_attn.weight'."""
    names = [getattr(part, "key", part) for part in path]
    names = [name.replace("h_", "h.", 1) if name.startswith("h_") else name for name in names]
    last = {"kernel": "weight", "scale": "weight", "embedding": "weight"}.get(names[-1], names[-1])
    return ".".join(names[:-1] + [last])


def _is_buffer(key: str) -> bool:
    return key.endswith(("attn.bias", "attn.masked_bias")) and ".c_attn." not in key and ".c_proj." not in key


def config_from_hf(hf_config: dict) -> GPTConfig:
    activation = hf_config.get("activation_function", "gelu_new")
    if activation not in _FROM_HF_ACTIVATIONS:
        raise PretrainedError(f"activation_function={activation!r} is not one of {', '.join(_FROM_HF_ACTIVATIONS)}")
    return GPTConfig(
        block_size=hf_config["n_positions"],
        vocab_size=hf_config["vocab_size"],
        n_layer=hf_config["n_layer"],
        n_head=hf_config["n_head"],
        n_embd=hf_config["n_embd"],
        dropout=0.0,
        bias=True,
        activation=_FROM_HF_ACTIVATIONS[activation],
        layer_norm_epsilon=hf_config.get("layer_norm_epsilon", 1e-5),
    )


def _config_from_shapes(state: dict) -> GPTConfig:
    """For a bare .safetensors file: sizes from the tensors, heads of 64 channels as in every GPT-2."""
    vocab_size, n_embd = state["wte.weight"].shape
    n_layer = len({key.split(".")[1] for key in state if key.startswith("h.")})
    return GPTConfig(
        block_size=state["wpe.weight"].shape[0],
        vocab_size=vocab_size,
        n_layer=n_layer,
        n_head=max(1, n_embd // 64),
        n_embd=n_embd,
        dropout=0.0,
        bias=True,
    )


def params_from_state_dict(state: dict, config: GPTConfig, dtype=jnp.float32):
    """Our parameter tree from a GPT-2 state dict of NumPy arrays (keys with or without 'transformer.')."""
    state = {key.removeprefix("transformer."): value for key, value in state.items()}
    lm_head = state.pop("lm_head.weight", None)
    if lm_head is not None and not np.array_equal(lm_head, state.get("wte.weight")):
        raise PretrainedError(
            "lm_head.weight differs from wte.weight: jaxgpt's GPT ties them, so it cannot load an untied head"
        )
    shapes = jax.eval_shape(GPT(config).init, jax.random.key(0), jnp.zeros((1, 1), jnp.int32))["params"]
    used = set()

    def take(path, shape):
        key = hf_key(path)
        if key not in state:
            raise PretrainedError(f"the checkpoint has no tensor {key!r} (needed with shape {shape.shape})")
        value = state[key]
        if value.shape != shape.shape:
            raise PretrainedError(f"tensor {key!r} has shape {value.shape}, but the model needs {shape.shape}")
        used.add(key)
        return jnp.asarray(value, dtype=dtype)

    params = jax.tree_util.tree_map_with_path(take, shapes)
    unexpected = sorted(key for key in state if key not in used and not _is_buffer(key))
    if unexpected:
        raise PretrainedError(f"the checkpoint has tensors the model does not use: {', '.join(unexpected[:5])}")
    return params


def _read_safetensors(path: pathlib.Path) -> dict:
    from safetensors.numpy import load_file

    try:
        return load_file(str(path))
    except Exception as error:  # a truncated or foreign file: say which one
        raise PretrainedError(f"could not read {path} as safetensors ({error})") from None


def _download(name: str) -> pathlib.Path:
    """The folder holding the named model's config.json and model.safetensors, fetched once into
    Hugging Face's cache."""
    import logging

    from huggingface_hub import hf_hub_download

    logging.getLogger("huggingface_hub").setLevel(logging.ERROR)  # its retries would print a warning each
    try:
        files = [hf_hub_download(GPT2_REPOS[name], filename) for filename in ("config.json", "model.safetensors")]
    except Exception as error:
        raise PretrainedError(
            f"could not download {name} from the Hugging Face Hub ({type(error).__name__}): connect to the "
            f"internet, or pass a local folder or .safetensors file in Hugging Face's layout"
        ) from None
    return pathlib.Path(files[1]).parent


def load_gpt2(name_or_path: str, dtype=jnp.float32):
    """(GPTConfig, params) of gpt2, gpt2-medium, gpt2-large, gpt2-xl, or a local Hugging Face folder
    (config.json + model.safetensors) or .safetensors file."""
    path = pathlib.Path(name_or_path)
    if not path.exists():
        if name_or_path not in GPT2_REPOS:
            raise PretrainedError(f"{name_or_path!r} is neither a file nor a folder nor one of {', '.join(GPT2_REPOS)}")
        path = _download(name_or_path)
    weights = path / "model.safetensors" if path.is_dir() else path
    if not weights.is_file():
        raise PretrainedError(
            f"{path} has no model.safetensors: save the model with safetensors "
            "(transformers' save_pretrained does by default)"
        )
    state = _read_safetensors(weights)
    config_file = weights.parent / "config.json"
    if config_file.is_file():
        try:
            hf_settings = json.loads(config_file.read_text())
        except (OSError, ValueError) as error:
            raise PretrainedError(f"{config_file} is not readable JSON ({error}): restore it, or remove it") from None
        config = config_from_hf(hf_settings)
    else:
        config = _config_from_shapes({key.removeprefix("transformer."): value for key, value in state.items()})
    return config, params_from_state_dict(state, config, dtype)


def to_hf_state_dict(params, config: GPTConfig) -> dict:
    """The inverse of `load_gpt2`: NumPy arrays under `GPT2LMHeadModel`'s keys (lm_head tied to wte)."""
    if not config.bias or config.position != "learned":
        raise PretrainedError(
            "GPT-2's layout needs bias=True and position='learned'; this model has "
            f"bias={config.bias}, position={config.position!r}"
        )
    state = {
        "transformer." + hf_key(path): np.asarray(leaf, dtype=np.float32)
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
    }
    state["lm_head.weight"] = state["transformer.wte.weight"]
    return state


def hf_config(config: GPTConfig) -> dict:
    """`config` as the fields of Hugging Face's GPT2Config (dropout off: set it where it is wanted)."""
    return {
        "n_positions": config.block_size,
        "n_ctx": config.block_size,
        "vocab_size": config.vocab_size,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_embd": config.n_embd,
        "activation_function": HF_ACTIVATIONS[config.activation],
        "layer_norm_epsilon": config.layer_norm_epsilon,
        "tie_word_embeddings": True,
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
    }


def save_hf(params, config: GPTConfig, folder) -> pathlib.Path:
    """Write config.json and model.safetensors that `GPT2LMHeadModel.from_pretrained(folder)` opens."""
    from safetensors.numpy import save_file

    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", **hf_config(config)}
    (folder / "config.json").write_text(json.dumps(settings, indent=2))
    state = to_hf_state_dict(params, config)
    state.pop("lm_head.weight")  # tied: stored once, as transformers itself does
    save_file({key: np.ascontiguousarray(value) for key, value in state.items()}, str(folder / "model.safetensors"))
    return folder
