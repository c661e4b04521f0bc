"""GPT-2 interop: a random transformers GPT-2 of odd sizes, saved and loaded, against transformers itself."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, deferred, f64
from safetensors.numpy import load_file, save_file

from jaxgpt import GPT, generate, reference
from jaxgpt.model.pretrained import PretrainedError, load_gpt2, save_hf, to_hf_state_dict

torch, transformers = deferred("torch"), deferred("transformers")


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    torch.manual_seed(0)
    config = transformers.GPT2Config(n_layer=3, n_head=3, n_embd=48, n_positions=37, vocab_size=101)
    model = transformers.GPT2LMHeadModel(config).eval()
    # GPT-2's own init leaves biases and LayerNorms at 0 and 1: randomise them so every tensor is tested
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "ln_" in name or name.endswith("bias"):
                parameter.add_(0.1 * torch.randn_like(parameter))
    folder = tmp_path_factory.mktemp("hf") / "tiny-gpt2"
    model.save_pretrained(folder)
    return folder, model


@pytest.fixture(scope="module")
def loaded(hf_folder):
    folder, _ = hf_folder
    return load_gpt2(str(folder))


TOKENS = np.random.default_rng(0).integers(0, 101, size=(3, 37))


def hf_logits(model, tokens):
    with torch.no_grad():
        return model(torch.from_numpy(np.asarray(tokens, np.int64))).logits.numpy()


def test_loaded_logits_equal_transformers_and_the_numpy_reference(hf_folder, loaded):
    _, hf_model = hf_folder
    config, params = loaded
    assert (config.n_layer, config.n_head, config.n_embd, config.block_size, config.vocab_size) == (3, 3, 48, 37, 101)
    logits = jax.jit(GPT(config).apply)({"params": params}, TOKENS)
    np.testing.assert_allclose(logits, hf_logits(hf_model, TOKENS), atol=1e-4, rtol=1e-4)
    assert_close(logits, reference.gpt(TOKENS, f64(params), config), tol=1e-4)


@pytest.mark.parametrize("use_cache", [True, False])
def test_greedy_generation_equals_transformers_generate(hf_folder, loaded, use_cache):
    _, hf_model = hf_folder
    config, params = loaded
    prompt = TOKENS[:2, :5]
    with torch.no_grad():
        expected = hf_model.generate(
            torch.from_numpy(prompt.astype(np.int64)),
            max_new_tokens=30,
            do_sample=False,
            use_cache=use_cache,
            pad_token_id=0,
        ).numpy()
    ours = generate(GPT(config), params, prompt, 30, rng=jax.random.key(0), temperature=0.0, use_cache=use_cache)
    np.testing.assert_array_equal(ours, expected)


def test_round_trip_through_transformers(tmp_path, hf_folder, loaded):
    _, hf_model = hf_folder
    config, params = loaded
    state = to_hf_state_dict(params, config)
    np.testing.assert_array_equal(state["transformer.h.2.mlp.c_fc.weight"], params["h_2"]["mlp"]["c_fc"]["kernel"])
    reopened = transformers.GPT2LMHeadModel.from_pretrained(save_hf(params, config, tmp_path / "out")).eval()
    np.testing.assert_allclose(hf_logits(reopened, TOKENS), hf_logits(hf_model, TOKENS), atol=1e-5)


def test_a_bare_safetensors_file_with_openai_keys_and_mask_buffers_loads(tmp_path, hf_folder, loaded):
    folder, _ = hf_folder
    state = {
        key.removeprefix("transformer."): value for key, value in load_file(str(folder / "model.safetensors")).items()
    }
    state["h.0.attn.bias"] = np.tril(np.ones((1, 1, 37, 37), np.float32))  # OpenAI's files carry the causal mask
    path = tmp_path / "gpt2-like.safetensors"
    save_file(state, str(path))
    config, params = load_gpt2(str(path), dtype=jnp.bfloat16)
    assert config.n_head == 1  # without config.json, heads of 64 channels are assumed, as in every GPT-2
    assert params["h_1"]["attn"]["c_attn"]["kernel"].dtype == jnp.bfloat16
    np.testing.assert_array_equal(np.asarray(params["wpe"]["embedding"], np.float32).shape, (37, 48))


def test_mismatches_name_the_key_and_both_shapes(tmp_path, hf_folder):
    folder, _ = hf_folder
    state = load_file(str(folder / "model.safetensors"))
    bad = dict(state, **{"transformer.h.1.mlp.c_fc.weight": np.zeros((48, 100), np.float32)})
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "config.json").write_text((folder / "config.json").read_text())
    save_file(bad, str(tmp_path / "bad" / "model.safetensors"))
    with pytest.raises(
        PretrainedError, match=r"'h.1.mlp.c_fc.weight' has shape \(48, 100\), but the model needs \(48, 192\)"
    ):
        load_gpt2(str(tmp_path / "bad"))
    missing = {k: v for k, v in state.items() if k != "transformer.ln_f.bias"}
    save_file(missing, str(tmp_path / "bad" / "model.safetensors"))
    with pytest.raises(PretrainedError, match=r"no tensor 'ln_f.bias' \(needed with shape \(48,\)\)"):
        load_gpt2(str(tmp_path / "bad"))


def test_unknown_names_and_missing_files_are_clear_errors(tmp_path):
    with pytest.raises(PretrainedError, match="'gpt3' is neither a file nor a folder nor one of gpt2, gpt2-medium"):
        load_gpt2("gpt3")
    with pytest.raises(PretrainedError, match="has no model.safetensors"):
        load_gpt2(str(tmp_path))
