"""Robust rolling z-score: distance from the rolling median in units of the rolling MAD.

The MAD is taken as half the interquartile range of the window (exact for symmetric noise),
so a reading costs a sorted insert and an O(1) look-up instead of a second median.

>>> detector = RobustZScore(window=20, alarm=5.0)
>>> for i in range(20):
...     detector.learn_one(i, 100.0 + (i % 5))
>>> detector.score_one(20, 102.0), round(detector.evidence()["expected"], 1)
(0.0, 102.0)
>>> detector.score_one(20, 160.0) > 0.7
True
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping
from typing import Any

from detectors.scoring.base import BaseDetector, Evidence, register, z_score

MAD_TO_SIGMA = 1.4826


@register
class RobustZScore(BaseDetector):
    """How many robust standard deviations a reading lies from the median of the last
    ``window`` readings; silent until half the window is filled."""

    name = "robust_z"

    def __init__(
        self, window: int = 60, alarm: float = 6.0, dead: float = 2.5, min_scale: float = 1e-6
    ) -> None:
        self.window = window
        self.alarm = alarm
        self.dead = dead
        self.min_scale = min_scale
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []
        self._evidence: Evidence = {}

    def _params(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "alarm": self.alarm,
            "dead": self.dead,
            "min_scale": self.min_scale,
        }

    def _state(self) -> dict[str, Any]:
        return {"recent": list(self._recent)}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._recent = deque(float(x) for x in state["recent"])
        self._sorted = sorted(self._recent)

    def median_and_sigma(self) -> tuple[float, float]:
        """The window's median and robust standard deviation."""
        ranked, n = self._sorted, len(self._sorted)
        median = ranked[n // 2] if n % 2 else 0.5 * (ranked[n // 2 - 1] + ranked[n // 2])
        mad = 0.5 * (ranked[(3 * n) // 4] - ranked[n // 4])
        return median, max(MAD_TO_SIGMA * mad, self.min_scale)

    def score_one(self, ts_ms: int, value: float) -> float:
        if len(self._sorted) < max(3, self.window // 2):
            self._evidence = {}
            return 0.0
        median, sigma = self.median_and_sigma()
        z = (value - median) / sigma
        self._evidence = {"expected": median, "scale": sigma, "z": z}
        return z_score(z, self.alarm, self.dead)

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._recent.append(value)
        bisect.insort(self._sorted, value)
        if len(self._recent) > self.window:
            old = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]

    def evidence(self) -> Evidence:
        return self._evidence
