"""An attention explorer: one self-contained HTML page (no server, no network, the script inline)
where you pick a layer and a head, click or hover a token, and see the weight it gives to every
earlier token, beside the model's top predictions for the next token at that position.

    write_attention_explorer("explorer.html", model, params, tokenizer, "ROMEO: But soft")

`python scripts/explore.py --out_dir out-shakespeare-char --text "ROMEO: But soft"` does the same
for a trained run.
"""

from __future__ import annotations

import html
import json
import pathlib

import jax
import numpy as np

GENERATOR = "jaxgpt attention explorer"  # in the page's <meta name="generator">: a page this module wrote
TOP_K = 5


def explorer_data(model, params, tokenizer, text: str) -> dict:
    """The page's data: tokens, attention weights [L][H][T][T] and the top-5 next tokens at each position."""
    ids_T = np.asarray(tokenizer.encode(text), np.int32)[-model.config.block_size :]
    # one compiled forward pass (run op by op, it compiled each operation on its own)
    forward = jax.jit(lambda params, ids_1xT: model.apply({"params": params}, ids_1xT, mutable=["intermediates"]))
    logits_1xTxV, state = forward(params, ids_T[None])
    layers = state["intermediates"]
    n_layer = model.config.n_layer
    weights_LxHxTxT = np.stack(
        [np.asarray(layers[f"h_{i}"]["attn"]["attention_weights"][0][0]) for i in range(n_layer)]
    )
    probs_TxV = np.asarray(jax.nn.softmax(logits_1xTxV[0].astype(np.float32), axis=-1))
    top_TxK = np.argsort(-probs_TxV, axis=-1)[:, :TOP_K]
    return {
        "tokens": [tokenizer.decode([int(i)]) for i in ids_T],
        "weights": np.round(weights_LxHxTxT, 4).tolist(),
        "predictions": [
            [[tokenizer.decode([int(v)]), round(float(probs_TxV[t, v]), 4)] for v in top_TxK[t]]
            for t in range(len(ids_T))
        ],
    }


PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="__GENERATOR__">
<title>Attention explorer: __TITLE__</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; max-width: 60em; }
#tokens { font-family: monospace; font-size: 1.3em; line-height: 2.2em; margin: 1em 0; }
.token { padding: 0.15em 0.05em; border-bottom: 2px solid transparent; cursor: pointer; white-space: pre; }
.token.selected { border-bottom-color: #1565c0; }
#prediction { font-family: monospace; background: #f4f4f4; padding: 0.6em; min-height: 1.5em; }
#shading { color: #555; min-height: 1.2em; }
</style></head>
<body>
<h1>Attention explorer</h1>
<p>Pick a layer and a head, then click or hover a token: the earlier tokens are shaded by the weight
it gives them, the darkest being its largest (hover one for the number), and below is what the
model predicts after it.</p>
<label>layer <select id="layer"></select></label>
<label>head <select id="head"></select></label>
<div id="shading"></div>
<div id="tokens"></div>
<div id="prediction">click a token</div>
<script id="data" type="application/json">__DATA__</script>
<script>
const data = JSON.parse(document.getElementById("data").textContent);
const show = (s) => s.replace(/ /g, "\\u2423").replace(/\\n/g, "\\u23ce");
const layer = document.getElementById("layer"), head = document.getElementById("head");
data.weights.forEach((_, i) => layer.add(new Option(i, i)));
data.weights[0].forEach((_, i) => head.add(new Option(i, i)));
const box = document.getElementById("tokens");
const spans = data.tokens.map((token, t) => {
  const span = document.createElement("span");
  span.className = "token"; span.textContent = show(token); span.dataset.index = t;
  span.addEventListener("click", () => select(t));
  span.addEventListener("mouseenter", () => select(t));
  box.appendChild(span); return span;
});
let selected = null;
function select(t) {
  selected = t;
  const row = data.weights[layer.value][head.value][t];
  const largest = Math.max(...row.slice(0, t + 1));  // shaded relative to the row's largest weight
  spans.forEach((span, s) => {
    const w = s <= t ? row[s] : 0;
    span.style.backgroundColor = w > 0 ? `rgba(198, 40, 40, ${(0.85 * w / largest).toFixed(3)})` : "";
    span.title = s <= t ? `weight ${w.toFixed(4)}` : "";
    span.classList.toggle("selected", s === t);
  });
  const top = data.predictions[t].map(([tok, p]) => `"${show(tok)}" ${(100 * p).toFixed(1)}%`).join(", ");
  const context = show(data.tokens.slice(0, t + 1).join(""));
  document.getElementById("shading").textContent =
    `shaded: where layer ${layer.value}, head ${head.value} looks from "${show(data.tokens[t])}" (token ${t})`;
  // the prediction is the whole model's (every layer and head together): it does not change with the head shown
  document.getElementById("prediction").textContent =
    `after "${context}" the model (all its layers and heads together) predicts: ${top}`;
}
layer.addEventListener("change", () => selected !== null && select(selected));
head.addEventListener("change", () => selected !== null && select(selected));
</script>
</body></html>
"""


def explorer_html(data: dict, title: str) -> str:
    """The page, with `data` inlined as JSON ('</' escaped, so no text can close the script tag)."""
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return (
        PAGE.replace("__GENERATOR__", GENERATOR).replace("__TITLE__", html.escape(title)).replace("__DATA__", payload)
    )


def write_attention_explorer(path, model, params, tokenizer, text: str) -> pathlib.Path:
    """Write the explorer of `text` through `model` to `path` (an .html file) and return the path."""
    path = pathlib.Path(path)
    path.write_text(explorer_html(explorer_data(model, params, tokenizer, text), text[:60]), encoding="utf-8")
    return path
