"""The attention explorer: its data are the model's own weights and predictions, and the page
renders and responds to clicks in a real headless browser (Debian's chromium, through selenium)."""

import shutil

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgpt.data.tokenizer import CharTokenizer
from jaxgpt.model.config import GPTConfig
from jaxgpt.model.gpt import GPT
from jaxgpt.study.explorer import GENERATOR, explorer_data, write_attention_explorer

TEXT = "ROMEO: But soft, what light"
CONFIG = GPTConfig(vocab_size=len(set(TEXT)), block_size=32, n_layer=2, n_head=3, n_embd=24)


@pytest.fixture(scope="module")
def explored():
    tokenizer = CharTokenizer.from_text(TEXT)
    model = GPT(CONFIG)
    params = jax.jit(model.init)(jax.random.key(0), jnp.zeros((1, 4), jnp.int32))["params"]
    return model, params, tokenizer


def test_the_data_are_the_models_weights_and_predictions(explored):
    model, params, tokenizer = explored
    data = explorer_data(model, params, tokenizer, TEXT)
    T = len(TEXT)
    assert "".join(data["tokens"]) == TEXT
    weights = np.array(data["weights"])
    assert weights.shape == (2, 3, T, T)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-3)  # each query's weights, a distribution
    assert np.all(np.triu(weights, k=1) == 0)  # causal: nothing on later tokens
    logits_TxV = jax.jit(model.apply)({"params": params}, jnp.asarray(tokenizer.encode(TEXT))[None])[0]
    best = np.argmax(np.asarray(logits_TxV), axis=-1)
    assert [prediction[0][0] for prediction in data["predictions"]] == [tokenizer.decode([int(v)]) for v in best]


def test_the_page_renders_and_answers_a_click(explored, tmp_path):
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):  # .ci/run installs both; a machine without them says so here
        pytest.skip("no chromium and chromedriver on PATH: apt install chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    page = write_attention_explorer(tmp_path / "explorer.html", *explored, TEXT)
    assert f'content="{GENERATOR}"' in page.read_text()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    try:
        browser.get(page.as_uri())
        tokens = browser.find_elements(By.CSS_SELECTOR, "#tokens .token")
        assert len(tokens) == len(TEXT) and tokens[0].text == "R"
        assert len(Select(browser.find_element(By.ID, "layer")).options) == 2
        assert len(Select(browser.find_element(By.ID, "head")).options) == 3
        tokens[6].click()  # the space after "ROMEO:"
        prediction = browser.find_element(By.ID, "prediction").text
        assert prediction.startswith('after "ROMEO:\u2423" the model (all its layers and heads together) predicts:')
        shading = browser.find_element(By.ID, "shading")
        assert shading.text == 'shaded: where layer 0, head 0 looks from "\u2423" (token 6)'
        shaded = [bool(token.value_of_css_property("background-color") != "rgba(0, 0, 0, 0)") for token in tokens]
        assert any(shaded[:7]) and not any(shaded[7:])  # earlier tokens only
        titles_before = [token.get_attribute("title") for token in tokens[:7]]
        Select(browser.find_element(By.ID, "head")).select_by_index(2)
        assert "layer 0, head 2 looks" in shading.text
        assert browser.find_element(By.ID, "prediction").text == prediction  # the model's, not the head's
        assert [token.get_attribute("title") for token in tokens[:7]] != titles_before  # another head's weights
    finally:
        browser.quit()
