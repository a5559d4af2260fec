"""NAB's scoring on hand-made series, and the corpus threshold sweep against brute force."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

from detectors.evaluation.benchmark import (
    PROFILES,
    LabelledSeries,
    benchmark,
    threshold_curve,
)
from detectors.evaluation.benchmark_series import CostMatrix, outcome, probation_rows

STANDARD = PROFILES["standard"]
WINDOW = (40, 49)  # 100 rows: probation is rows 0-14


def sigmoid(position: float) -> float:
    return -1.0 if position >= 3.0 else 2 / (1 + math.exp(5 * position)) - 1


def detections(*rows: int, n: int = 100) -> list[float]:
    scores = [0.0] * n
    for row in rows:
        scores[row] = 1.0
    return scores


def raw(scores: list[float], windows: tuple[tuple[int, int], ...] = (WINDOW,)) -> float:
    return outcome("s", scores, windows, 1.0, STANDARD).raw


def test_a_detection_at_the_window_start_earns_tp_and_earlier_beats_later() -> None:
    assert raw(detections(40)) == pytest.approx(1.0)  # position -1, scaled by sigmoid(-1)
    late = sigmoid(-(49 - 49 + 1) / 10) / sigmoid(-1.0)  # position -0.1
    assert raw(detections(49)) == pytest.approx(late)
    assert raw(detections(40)) > raw(detections(45)) > raw(detections(49)) > 0


def test_only_the_first_detection_in_a_window_counts() -> None:
    first = sigmoid(-(49 - 42 + 1) / 10) / sigmoid(-1.0)
    assert raw(detections(42, 45, 49)) == pytest.approx(first)
    assert outcome("s", detections(42, 45), (WINDOW,), 1.0, STANDARD).delays == (2,)


def test_a_detection_outside_costs_fp_less_right_after_a_window() -> None:
    assert raw(detections(20)) == pytest.approx(-0.11 - 1.0)  # no window before: -fp; missed
    after = 0.11 * sigmoid((60 - 49) / (10 - 1))
    assert raw(detections(40, 60)) == pytest.approx(1.0 + after)
    assert -0.11 < after < 0
    assert raw(detections(40, 99)) == pytest.approx(1.0 - 0.11)  # 50 rows > 3 widths away


def test_detections_in_the_probation_period_are_ignored() -> None:
    assert probation_rows(100) == 15
    assert raw(detections(3, 14)) == pytest.approx(-1.0)
    in_probation = outcome("s", detections(6), ((5, 9), WINDOW), 1.0, STANDARD)
    assert (in_probation.detected, in_probation.missed) == (0, 1)  # (5, 9) is not scored


def test_counts_precision_recall_and_false_episodes() -> None:
    series = LabelledSeries("s", detections(44, 60, 61, 62, 80), (WINDOW,))
    result = benchmark([series], STANDARD)
    assert (result.detected, result.missed, result.false_episodes) == (1, 0, 2)
    assert result.precision == pytest.approx(1 / 3) and result.recall == 1.0
    assert result.f1 == pytest.approx(0.5)
    assert result.delay_rows == 4 and result.delay_fraction == pytest.approx(0.4)


def test_the_null_detector_scores_0_and_the_perfect_one_100() -> None:
    control = LabelledSeries("control", [0.0] * 100, ())
    null = benchmark([LabelledSeries("s", [0.0] * 100, (WINDOW,)), control], STANDARD)
    assert (null.threshold, null.raw, null.score) == (math.inf, -1.0, 0.0)
    perfect = benchmark([LabelledSeries("s", detections(40), (WINDOW,)), control], STANDARD)
    assert perfect.threshold == 1.0 and perfect.score == pytest.approx(100.0)


def test_profiles_weigh_false_negatives_and_positives() -> None:
    assert raw(detections(20)) == pytest.approx(-1.11)
    cost = PROFILES["reward_low_fn"]
    assert outcome("s", detections(20), (WINDOW,), 1.0, cost).raw == pytest.approx(-2.11)
    cost = PROFILES["reward_low_fp"]
    assert outcome("s", detections(20), (WINDOW,), 1.0, cost).raw == pytest.approx(-1.22)


def brute_raw(scores: list[float], windows: list[tuple[int, int]], threshold: float) -> float:
    """NAB's sweep walked row by row, as the brief describes it, for one threshold."""
    cost, start, total = STANDARD, probation_rows(len(scores)), 0.0
    found: dict[int, float] = {}
    for i, score in enumerate(scores):
        if i < start or score < threshold:
            continue
        inside = [k for k, (a, b) in enumerate(windows) if a <= i <= b]
        before = [(a, b) for a, b in windows if b < i]
        if inside:
            a, b = windows[inside[0]]
            found.setdefault(inside[0], cost.tp * sigmoid(-(b - i + 1) / (b - a + 1)))
        elif before:
            a, b = before[-1]
            total += cost.fp * sigmoid((i - b) / (b - a))
        else:
            total -= cost.fp
    for k, (_, b) in enumerate(windows):
        total += found[k] / sigmoid(-1.0) if k in found else (-cost.fn if b >= start else 0.0)
    return total


def random_corpus(seed: int) -> list[LabelledSeries]:
    rng = np.random.default_rng(seed)
    corpus = []
    for index in range(4):
        n = int(rng.integers(40, 160))
        scores = np.round(rng.random(n) ** 3, 2).tolist()  # ties, as real detectors give
        starts = sorted(rng.choice(np.arange(2, n - 8, 8), size=2, replace=False).tolist())
        windows = tuple((int(s), int(s + rng.integers(1, 7))) for s in starts)
        corpus.append(LabelledSeries(f"s{index}", scores, windows if index else ()))
    return corpus


@pytest.mark.parametrize("seed", range(8))
def test_the_sweep_finds_the_brute_force_best_threshold(seed: int) -> None:
    corpus = random_corpus(seed)
    candidates = [math.inf, *sorted({s for c in corpus for s in c.scores}, reverse=True)]
    by_threshold = {
        t: sum(brute_raw(list(c.scores), list(c.windows), t) for c in corpus) for t in candidates
    }
    best = max(by_threshold.values())
    result = benchmark(corpus, STANDARD)
    ties = [t for t, v in by_threshold.items() if v > best - 1e-9]
    assert result.raw == pytest.approx(best)
    assert result.threshold == max(ties)  # the highest of equally good thresholds
    assert sum(o.raw for o in result.outcomes) == pytest.approx(result.raw)
    thresholds, raws, _ = threshold_curve(corpus, STANDARD)
    for threshold, value in zip(thresholds[1:], raws[1:], strict=True):
        if threshold in by_threshold:  # rows in probation add no candidate of their own
            assert value == pytest.approx(by_threshold[threshold])


def test_a_year_of_five_minute_rows_sweeps_in_seconds() -> None:
    rng = np.random.default_rng(3)
    corpus = [
        LabelledSeries(f"s{i}", np.round(rng.random(7300), 3).tolist(), ((3000, 3700),))
        for i in range(50)
    ]  # 365,000 rows, ~1,000 distinct scores
    started = time.perf_counter()
    benchmark(corpus, CostMatrix(tp=1.0, fp=0.11, fn=1.0))
    assert time.perf_counter() - started < 10.0
