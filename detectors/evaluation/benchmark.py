"""The Numenta Anomaly Benchmark's windowed early-detection reward, for any labelled corpus.

A detection early in a labelled window earns nearly the full true-positive weight, one at
the window's end almost nothing; a detection outside every window costs up to the
false-positive weight (less right after a window, where it is probably a late detection);
a window without a detection costs the false-negative weight. The first rows of each series
are a probationary period in which the detector learns and nothing counts. One threshold
serves the whole corpus: the one with the highest raw score. Follows numenta/NAB
``nab/sweeper.py`` (``calcSweepScore``, ``calcScoreByThreshold``) and ``nab/runner.py``
(``normalize``).

>>> series = LabelledSeries("one", scores=[0.0] * 20 + [0.9] + [0.0] * 9, windows=((20, 24),))
>>> result = benchmark([series], PROFILES["standard"])
>>> result.threshold, result.detected, result.missed, round(result.score, 1)
(0.9, 1, 0, 100.0)
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from detectors.evaluation.benchmark_series import (
    CostMatrix,
    Outcome,
    outcome,
    probation_rows,
    sweep_values,
)

Floats = npt.NDArray[np.float64]


PROFILES = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0),
    "reward_low_fp": CostMatrix(tp=1.0, fp=0.22, fn=1.0),
    "reward_low_fn": CostMatrix(tp=1.0, fp=0.11, fn=2.0),
}


@dataclass(frozen=True)
class LabelledSeries:
    """One series' anomaly scores in row order and its windows as inclusive row ranges."""

    name: str
    scores: Sequence[float]
    windows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class CorpusScore:
    """A detector's result on a corpus at its best threshold."""

    threshold: float  # math.inf: never detecting scored best
    raw: float
    null: float
    perfect: float
    outcomes: tuple[Outcome, ...]

    @property
    def score(self) -> float:
        """NAB's normalised score: 0 for the null detector, 100 for the perfect one."""
        span = self.perfect - self.null
        return 100.0 * (self.raw - self.null) / span if span else math.nan

    @property
    def detected(self) -> int:
        return sum(o.detected for o in self.outcomes)

    @property
    def missed(self) -> int:
        return sum(o.missed for o in self.outcomes)

    @property
    def false_episodes(self) -> int:
        return sum(o.false_episodes for o in self.outcomes)

    @property
    def precision(self) -> float:
        alarms = self.detected + self.false_episodes
        return self.detected / alarms if alarms else 0.0

    @property
    def recall(self) -> float:
        windows = self.detected + self.missed
        return self.detected / windows if windows else 0.0

    @property
    def f1(self) -> float:
        both = self.precision + self.recall
        return 2 * self.precision * self.recall / both if both else 0.0

    @property
    def delay_rows(self) -> float | None:
        """Median rows from a detected window's start to its first detection."""
        delays = [d for o in self.outcomes for d in o.delays]
        return statistics.median(delays) if delays else None

    @property
    def delay_fraction(self) -> float | None:
        """The same delay as a fraction of the window's width."""
        fractions = [f for o in self.outcomes for f in o.delay_fractions]
        return statistics.median(fractions) if fractions else None


def _scorable(series: LabelledSeries, cost: CostMatrix, first_id: int) -> tuple[Floats, ...]:
    """Scores, rewards and corpus-wide window ids (-1 outside) of the rows after probation."""
    n = len(series.scores)
    values, window_of = sweep_values(n, series.windows, cost)
    start = probation_rows(n)
    window = window_of[start:].astype(np.float64)
    window[window >= 0] += first_id
    return np.asarray(series.scores, dtype=np.float64)[start:], values[start:], window


def _window_gains(values: Floats, window: Floats, fn: float) -> Floats:
    """What each in-window row adds when it becomes a detection, rows in threshold order:
    the first detection replaces the miss penalty, a later one adds only if it is earlier
    in the window (NAB keeps the best, that is the earliest, detection of a window)."""
    gains = np.zeros_like(values)
    inside = np.flatnonzero(window >= 0)
    grouped = inside[np.argsort(window[inside], kind="stable")]
    cuts = np.flatnonzero(np.diff(window[grouped])) + 1
    for rows in np.split(grouped, cuts) if grouped.size else []:
        best = np.maximum.accumulate(values[rows])
        gains[rows] = best - np.concatenate(([-fn], best[:-1]))
    return gains


def threshold_curve(
    corpus: Sequence[LabelledSeries], cost: CostMatrix
) -> tuple[Floats, Floats, float]:
    """Every candidate threshold (descending, ``inf`` = no detection), the corpus raw score
    at each, and the null score. One sort and one cumulative sum, as NAB's sweeper does."""
    parts, first_id = [], 0
    for series in corpus:
        parts.append(_scorable(series, cost, first_id))
        first_id += len(series.windows)
    scores, values, window = (np.concatenate([p[k] for p in parts]) for k in range(3))
    order = np.argsort(-scores, kind="stable")
    scores, values, window = scores[order], values[order], window[order]
    null = -cost.fn * np.unique(window[window >= 0]).size
    gains = np.where(window >= 0, 0.0, values) + _window_gains(values, window, cost.fn)
    raw = null + np.cumsum(gains)
    last_of_value = np.append(scores[1:] != scores[:-1], True)[: scores.size]
    thresholds = np.concatenate(([math.inf], scores[last_of_value]))
    return thresholds, np.concatenate(([null], raw[last_of_value])), float(null)


def benchmark(corpus: Sequence[LabelledSeries], cost: CostMatrix) -> CorpusScore:
    """Score a detector on a corpus at the threshold that maximises its raw score (the
    highest such threshold on a tie)."""
    thresholds, raws, null = threshold_curve(corpus, cost)
    best = int(np.argmax(raws))
    threshold = float(thresholds[best])
    outcomes = tuple(outcome(s.name, s.scores, s.windows, threshold, cost) for s in corpus)
    # NAB's perfect score counts every labelled window, scorable or not
    perfect = cost.tp * sum(len(s.windows) for s in corpus)
    return CorpusScore(threshold, float(raws[best]), null, perfect, outcomes)
