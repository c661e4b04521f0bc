"""The least label-smoothed loss (jaxgpt/training/step/loss.py, `smoothed_loss_floor`): the entropy of
the smoothed target, reached by a model that predicts that target, whatever the padding."""

import numpy as np
import pytest

from jaxgpt.training.step.loss import label_smoothed_loss, smoothed_loss_floor


def smoothed_log_probs(targets_BxT, epsilon, V):
    """log q [B, T, V]: the smoothed target distribution itself, as logits."""
    right, other = 1 - epsilon + epsilon / V, epsilon / V
    return np.log(np.where(np.arange(V) == targets_BxT[..., None], right, other)).astype(np.float32)


@pytest.mark.parametrize("epsilon, V", [(0.1, 13), (0.1, 32000), (0.3, 5)])
def test_a_perfect_smoothed_prediction_attains_the_floor_and_the_floor_is_the_entropy_of_the_target(epsilon, V):
    rng = np.random.default_rng(0)
    targets_BxT = rng.integers(3, V, (4, 9))
    targets_BxT[:, 6:] = 0  # padding at the end, left out of the mean
    perfect = float(label_smoothed_loss(smoothed_log_probs(targets_BxT, epsilon, V), targets_BxT, epsilon, pad_id=0))
    q_V = np.full(V, epsilon / V)
    q_V[0] += 1 - epsilon
    entropy = -np.sum(q_V[q_V > 0] * np.log(q_V[q_V > 0]))
    assert smoothed_loss_floor(epsilon, V) == pytest.approx(entropy, rel=1e-12)
    assert perfect == pytest.approx(smoothed_loss_floor(epsilon, V), abs=2e-5)


def test_the_floor_of_the_reverse_task_is_0_537_and_no_prediction_goes_below_it():
    assert smoothed_loss_floor(0.1, 13) == pytest.approx(0.537221, abs=1e-6)  # eps 0.1, pad BOS EOS + 10 digits
    assert smoothed_loss_floor(0.0, 13) == 0.0  # no smoothing: a sure, right model pays nothing
    rng = np.random.default_rng(1)
    targets_BxT = rng.integers(3, 13, (8, 11))
    best = smoothed_log_probs(targets_BxT, 0.1, 13)
    for scale in (0.5, 2.0, 10.0):  # less or more sure than q
        assert float(label_smoothed_loss(scale * best, targets_BxT, 0.1)) > smoothed_loss_floor(0.1, 13) + 1e-3
    noisy = best + rng.normal(0, 0.3, best.shape).astype(np.float32)
    assert float(label_smoothed_loss(noisy, targets_BxT, 0.1)) > smoothed_loss_floor(0.1, 13)
