"""Attention heatmaps and loss curves: figures with the right panels, PNGs written."""

import numpy as np
import pytest
from matplotlib.image import imread

from jaxgpt.model import reference
from jaxgpt.study.figures import plot_attention, plot_attention_heads
from jaxgpt.training.logs.metrics_file import plot_losses


@pytest.fixture
def weights_HxTxT():
    rng = np.random.default_rng(0)
    q, k = rng.standard_normal((2, 3, 6, 4))
    return reference.attention_weights(q, k, reference.causal_mask(6))


def test_one_head_heatmap_is_written_with_token_labels(weights_HxTxT, tmp_path):
    fig = plot_attention(weights_HxTxT[0], list("to be!"), list("to be!"), "head 0", path=tmp_path / "a.png")
    heatmap = fig.axes[0]
    assert [t.get_text() for t in heatmap.get_xticklabels()] == list("to be!")
    np.testing.assert_allclose(heatmap.images[0].get_array(), weights_HxTxT[0], rtol=1e-6)
    assert imread(tmp_path / "a.png").shape[:2] == (450, 500)  # 5 x 4.5 inches at 100 dpi


def test_head_grid_has_one_panel_per_head(weights_HxTxT, tmp_path):
    fig = plot_attention_heads(weights_HxTxT, columns=2, path=tmp_path / "heads.png")
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == ["head 0", "head 1", "head 2"]
    assert len(fig.axes) == 4 and not fig.axes[3].axison  # 2 x 2 grid, the fourth panel hidden
    assert (tmp_path / "heads.png").stat().st_size > 0


def test_a_long_line_in_a_grid_labels_every_kth_token_so_labels_never_overlap():
    line = "ROMEO:\nBut soft, what light through yonder window breaks?"  # 57 characters
    rng = np.random.default_rng(1)
    q, k = rng.standard_normal((2, 4, len(line), 4))
    weights_HxTxT = reference.attention_weights(q, k, reference.causal_mask(len(line)))
    grid = plot_attention_heads(weights_HxTxT, list(line), list(line))
    for ax in grid.axes:
        labels = [t.get_text() for t in ax.get_xticklabels()]
        assert len(labels) == 19  # every 3rd of 57: at most 20 in a 3.6-inch panel
        assert labels[:3] == ["R 0", "E 3", "\\n 6"] and list(ax.get_xticks()[:3]) == [0, 3, 6]
    assert [ax.get_ylabel() for ax in grid.axes] == ["query", "", "", ""]  # 4 panels in one row
    single = plot_attention(weights_HxTxT[0], list(line), list(line))
    assert len(single.axes[0].get_xticklabels()) == 29  # every 2nd of 57 in the one-head figure


def test_loss_curves_from_metrics_records(tmp_path):
    records = [{"iter": i, "loss": 4 - i / 10} for i in range(1, 11)] + [
        {"iter": 10, "train_loss": 3.0, "val_loss": 3.1}
    ]
    fig = plot_losses(records, tmp_path / "loss.png")
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["train (batch)", "train (eval)", "val (eval)"]
    assert list(fig.axes[0].lines[0].get_ydata())[-1] == pytest.approx(3.0)


def test_wrong_dimensions_are_clear_errors(weights_HxTxT):
    with pytest.raises(ValueError, match=r"one head's weights \[T, S\], got shape \(3, 6, 6\)"):
        plot_attention(weights_HxTxT)
    with pytest.raises(ValueError, match=r"one layer's weights \[H, T, S\]"):
        plot_attention_heads(weights_HxTxT[0])
