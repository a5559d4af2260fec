"""The yardstick every benchmark table ends with: a plain rolling z-score.

Each reading's distance from the mean of the ``window`` readings before it, in their
standard deviations (none of the product's robustness, likelihood or questions): what a
detector written the plain way scores on the same data set. A detector that does not beat
it on a data set has nothing to show there. Scores are the normal two-sided tail's
surprise on the product's scale (:func:`~detectors.scoring.likelihood.surprise_score`), so
the row reads like the others; any monotone scale would give the same benchmark.

>>> scores = rolling_z_scores([1.0, 2.0] * 300 + [9.0])
>>> float(scores[0]), round(float(scores[-1]), 2), bool(scores[-1] > scores[:-1].max())
(0.0, 1.0, True)
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from detectors.scoring.likelihood import normal_surprises, surprise_scores

REFERENCE = "ref-z500"
"""The reference row's name in the benchmark's tables."""
WINDOW = 500
"""Readings before each one that its mean and deviation are taken from."""

Floats = npt.NDArray[np.float64]


def rolling_z_scores(values: Sequence[float], window: int = WINDOW) -> Floats:
    """Each reading's score against the (up to) ``window`` readings before it: 0 with fewer
    than two of them or none that differ, in one pass of cumulative sums."""
    x = np.asarray(values, dtype=np.float64)
    n = x.size
    if n == 0:
        return np.zeros(0)
    shifted = x - x[0]  # sums of squares about the first reading: no cancellation at scale
    s1 = np.concatenate(([0.0], np.cumsum(shifted)))
    s2 = np.concatenate(([0.0], np.cumsum(shifted * shifted)))
    ends = np.arange(n)
    starts = np.maximum(0, ends - window)
    count = (ends - starts).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = (s1[ends] - s1[starts]) / count
        var = (s2[ends] - s2[starts]) / count - mean * mean
        sd = np.sqrt(np.maximum(var, 0.0))
        z = np.abs(shifted - mean) / sd
    usable = (count >= 2) & (sd > 1e-12 * np.maximum(1.0, np.abs(mean + x[0])))
    z = np.where(usable, z, 0.0)
    return surprise_scores(normal_surprises(z))
