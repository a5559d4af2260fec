"""Robust rolling z-score: distance from the rolling median in units of the rolling MAD.

The MAD is taken as half the interquartile range of the window (exact for symmetric noise),
so a reading costs a sorted insert and an O(1) look-up instead of a second median.

The z-score's normal tail is the reading's surprise; the score is its likelihood against
the series' own history (:mod:`detectors.scoring.likelihood`), 0 until half the window and
``warmup`` surprises are in.

>>> detector = RobustZScore(window=20, warmup=40)
>>> for i in range(300):
...     detector.learn_one(i, 100.0 + (i % 5))
>>> detector.score_one(300, 102.0) < 0.1, round(detector.evidence()["expected"], 1)
(True, 102.0)
>>> detector.score_one(300, 160.0) > 0.7
True
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from detectors.scoring.base import BaseDetector, register
from detectors.scoring.likelihood import Graded, normal_surprise

MAD_TO_SIGMA = 1.4826


class RollingWindow:
    """The last ``size`` values, kept sorted too: median and robust spread in O(1) after an
    O(size) insert."""

    __slots__ = ("_recent", "_sorted", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._recent: deque[float] = deque()
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._recent)

    def add(self, value: float) -> float | None:
        """Take ``value`` in; the value that fell out of the window, if one did."""
        self._recent.append(value)
        bisect.insort(self._sorted, value)
        if len(self._recent) > self.size:
            old = self._recent.popleft()
            del self._sorted[bisect.bisect_left(self._sorted, old)]
            return old
        return None

    def median_and_sigma(self, floor: float = 0.0) -> tuple[float, float]:
        """The median and robust standard deviation (half the interquartile range, as a
        MAD), at least ``floor``."""
        ranked, n = self._sorted, len(self._sorted)
        median = ranked[n // 2] if n % 2 else 0.5 * (ranked[n // 2 - 1] + ranked[n // 2])
        sigma = MAD_TO_SIGMA * (0.5 * (ranked[(3 * n) // 4] - ranked[n // 4]))  # of the MAD
        return median, floor if floor > sigma else sigma  # max(sigma, floor)

    def quantile(self, q: float) -> float:
        """The value a share ``q`` of the window lies below (the nearest rank)."""
        ranked = self._sorted
        return ranked[min(len(ranked) - 1, int(q * len(ranked)))]

    def values(self) -> list[float]:
        """The window's values, oldest first."""
        return list(self._recent)

    def share_at(self, value: float) -> float:
        """The share of the window equal to ``value``."""
        ranked = self._sorted
        return (bisect.bisect_right(ranked, value) - bisect.bisect_left(ranked, value)) / len(
            ranked
        )

    def dump(self) -> tuple[float, ...]:
        return tuple(self._recent)

    def load(self, values: Sequence[float]) -> None:
        self._recent = deque(float(x) for x in values)
        self._sorted = sorted(self._recent)


@register
class RobustZScore(Graded, BaseDetector):
    """How many robust standard deviations a reading lies from the median of the last
    ``window`` readings, as a likelihood over ``short`` readings; silent until half the
    window is filled and ``warmup`` readings have been judged."""

    name = "robust_z"

    def __init__(
        self,
        window: int = 60,
        min_scale: float = 1e-6,
        short: int = 5,
        warmup: int = 60,
        log_past_cap: bool = False,
    ) -> None:
        self.window, self.min_scale, self.short, self.warmup = window, min_scale, short, warmup
        self._graded_by(short, warmup, log_past_cap)
        self._window = RollingWindow(window)
        self._ready_at = max(3, window // 2)  # readings in the window before it judges

    def _params(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "min_scale": self.min_scale,
            "short": self.short,
            "warmup": self.warmup,
            **self._cap_param(),
        }

    def _state(self) -> dict[str, Any]:
        return {"recent": self._window.dump(), "likelihood": self._likelihood.dump()}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._window.load(state["recent"])
        self._likelihood.load(state["likelihood"])

    def median_and_sigma(self) -> tuple[float, float]:
        """The window's median and robust standard deviation."""
        return self._window.median_and_sigma(self.min_scale)

    def _surprise(self, ts_ms: int, value: float) -> float | None:
        if len(self._window) < self._ready_at:
            self._judged = None
            return None
        median, sigma = self.median_and_sigma()
        z = (value - median) / sigma
        self._judged = (median, sigma, z)
        return normal_surprise(z)

    def _learn_value(self, ts_ms: int, value: float) -> None:
        self._window.add(value)
