"""The benchmark's yardstick, a plain rolling z-score, against the loop it stands for."""

from __future__ import annotations

import numpy as np
import pytest

from detectors.evaluation.reference import rolling_z_scores
from detectors.scoring.likelihood import normal_surprise, surprise_score


def loop(values: np.ndarray, window: int) -> list[float]:
    scores = []
    for i, x in enumerate(values):
        before = values[max(0, i - window) : i]
        if len(before) < 2 or before.std() == 0.0:
            scores.append(0.0)
            continue
        scores.append(surprise_score(normal_surprise(abs(x - before.mean()) / before.std())))
    return scores


@pytest.mark.parametrize(("level", "window"), [(0.0, 500), (1e6, 500), (40.0, 7)])
def test_scores_equal_the_plain_loop(level: float, window: int) -> None:
    values = level + np.random.default_rng(5).normal(0.0, 3.0, 1500)
    values[900] += 40.0
    scores = rolling_z_scores(values.tolist(), window)
    assert np.allclose(scores, loop(values, window), atol=1e-6)
    assert int(np.argmax(scores)) == 900


def test_a_flat_window_scores_0_not_infinity() -> None:
    scores = rolling_z_scores([5.0] * 50 + [6.0])
    assert scores.tolist() == [0.0] * 51
    assert rolling_z_scores([]).size == 0
