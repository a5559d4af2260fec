"""Bursts of grid-management case reports: reports of one category in one grid cell within
a sliding window, against the cell's usual rate for that category.

The usual rate is not known at first, so it is learnt the Bayesian way: a Gamma prior worth
``prior_days`` of watching at ``prior_per_day``, updated by the reports seen over the time
watched (both decaying over ``memory_ms``). The count in a window is then judged by the
posterior predictive, a negative binomial: a cell that files several reports a day is
learnt within hours instead of being held to the prior for its first day (the cold start's
false bursts), and a short history widens the tail instead of trusting a rate barely seen.
The rate is never taken below ``prior_per_day``: two citizens reporting one pothole is not
a burst, however quiet the cell.

>>> burst = CaseBurst(window_ms=3_600_000, prior_per_day=0.5)
>>> day = 86_400_000
>>> for i in range(14):                   # one report every other day, for four weeks
...     burst.learn_one(i * 2 * day, 1.0)
>>> round(burst.score_one(28 * day, 1.0), 2)
0.0
>>> for minute in range(8):                # eight reports within an hour
...     burst.learn_one(30 * day + minute * 300_000, 1.0)
>>> burst.score_one(30 * day + 45 * 60_000, 1.0) >= 0.5
True
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import Any

from detectors.scoring.base import BaseDetector, Evidence, register, squash

DAY_MS = 86_400_000


def negbin_tail_log10(count: float, shape: float, exposure: float, window: float) -> float:
    """log10 P(X >= count) for the count X in ``window`` when the rate is Gamma(``shape``,
    ``exposure``) (in the same time unit as ``window``): a negative binomial with ``shape``
    and success probability ``exposure / (exposure + window)``.

    >>> round(negbin_tail_log10(3, shape=2.0, exposure=1.0, window=1.0), 3)
    -0.505
    >>> negbin_tail_log10(0, 2.0, 1.0, 1.0)
    0.0
    """
    k0 = max(0, math.ceil(count))
    if k0 == 0:
        return 0.0
    q = window / (exposure + window)  # the chance of one more report, per step
    base = shape * math.log1p(-q) - math.lgamma(shape)

    def log_pmf(k: int) -> float:
        return base + math.lgamma(k + shape) - math.lgamma(k + 1) + k * math.log(q)

    if shape * q / (1 - q) >= k0:  # the mean reaches the count: 1 - the head
        head = sum(math.exp(log_pmf(k)) for k in range(k0))
        return math.log10(max(1.0 - head, 1e-300))
    logs = [log_pmf(k) for k in range(k0, k0 + 200)]
    top = max(logs)
    return (top + math.log(sum(math.exp(x - top) for x in logs))) / math.log(10)


@register
class CaseBurst(BaseDetector):
    """Reports in the last ``window_ms`` against the learnt rate (a Gamma posterior from a
    prior worth ``prior_days`` at ``prior_per_day``, the reports decaying over
    ``memory_ms``, never below ``prior_per_day``); alarms at a tail probability of
    ``10 ** -alarm``. Each reading's value is a number of reports (usually 1)."""

    name = "burst"

    def __init__(
        self,
        window_ms: int = 3_600_000,
        prior_per_day: float = 0.5,
        memory_ms: int = 28 * DAY_MS,
        alarm: float = 6.0,
        dead: float = 2.0,
        prior_days: float = 1.0,
    ) -> None:
        self.window_ms, self.prior_per_day, self.memory_ms = window_ms, prior_per_day, memory_ms
        self.alarm, self.dead, self.prior_days = alarm, dead, prior_days
        self._recent: deque[tuple[int, float]] = deque()
        self._mass, self._span = 0.0, 0.0  # decayed reports and decayed ms
        self._last_ts: int | None = None
        self._evidence: Evidence = {}

    def _params(self) -> dict[str, Any]:
        return {
            "window_ms": self.window_ms, "prior_per_day": self.prior_per_day,
            "memory_ms": self.memory_ms, "alarm": self.alarm, "dead": self.dead,
            "prior_days": self.prior_days,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {
            "recent": [list(r) for r in self._recent], "mass": self._mass,
            "span": self._span, "last_ts": self._last_ts,
        }  # fmt: skip

    def _load(self, state: Mapping[str, Any]) -> None:
        self._recent = deque((int(ts), float(n)) for ts, n in state["recent"])
        self._mass, self._span = float(state["mass"]), float(state["span"])
        self._last_ts = state["last_ts"]

    def posterior(self) -> tuple[float, float]:
        """The rate's Gamma posterior: (shape, exposure in days), its mean (reports a day)
        floored at ``prior_per_day``."""
        exposure = self.prior_days + self._span / DAY_MS
        shape = self.prior_per_day * self.prior_days + self._mass
        return max(shape, self.prior_per_day * exposure), exposure

    def usual_in_window(self) -> float:
        """The expected number of reports in a window."""
        shape, exposure = self.posterior()
        return shape / exposure * self.window_ms / DAY_MS

    def score_one(self, ts_ms: int, value: float) -> float:
        count = value + sum(n for ts, n in self._recent if ts > ts_ms - self.window_ms)
        usual = self.usual_in_window()
        shape, exposure = self.posterior()
        surprise = -negbin_tail_log10(count, shape, exposure, self.window_ms / DAY_MS)
        self._evidence = {"reports": count, "expected": usual, "surprise": surprise}
        return squash(surprise - self.dead, self.alarm - self.dead)

    def learn_one(self, ts_ms: int, value: float) -> None:
        if self._last_ts is not None:
            elapsed = max(ts_ms - self._last_ts, 0)
            decay = math.exp(-elapsed / self.memory_ms)
            self._mass *= decay
            self._span = self._span * decay + self.memory_ms * (1 - decay)
        self._mass += value
        self._last_ts = ts_ms if self._last_ts is None else max(self._last_ts, ts_ms)
        self._recent.append((ts_ms, value))
        while self._recent and self._recent[0][0] <= ts_ms - self.window_ms:
            self._recent.popleft()

    def evidence(self) -> Evidence:
        return self._evidence
