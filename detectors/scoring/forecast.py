"""Forecast early warning: when will the series cross its first limit band, and is that
within the horizon? The alert carries the predicted time of crossing.

Level and trend come from Holt's linear smoothing with irregular time steps. A crossing is
warned about only when the trend moves towards the limit by more than the series' own
one-step noise over the horizon, so a flat noisy series never "forecasts" a crossing.

Warm-up: the score is exactly 0 until the detector has ``min_count`` readings spanning at
least ``warmup_ms`` (default half the horizon). Before that the trend is little more than
the first slope between two noisy readings (seconds apart at a fast cadence), and
extrapolating it an hour ahead "forecast" a crossing on ordinary data in the first
minutes of every cold start; a trend is not projected further than twice as long as it
has been watched.

>>> from detectors.scoring.limits import flood_bands
>>> rising = ForecastWarning(bands=flood_bands(4.0, 5.0), horizon_ms=3_600_000, alpha=0.5)
>>> for minute in range(0, 120, 5):      # +0.5 m an hour, from 2.5 m
...     rising.learn_one(minute * 60_000, 2.5 + minute / 120)
>>> rising.score_one(120 * 60_000, 3.5) >= 0.5
True
>>> (rising.evidence()["forecast_ts_ms"] - 120 * 60_000) // 60_000   # 3.7 m in 24 min
24
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.scoring.base import BaseDetector, Evidence, register
from detectors.scoring.limits import Band

MINUTE_MS = 60_000


@register
class ForecastWarning(BaseDetector):
    """Warns (level IV, rising towards III as the crossing nears) when the level-IV limit
    of ``bands`` is predicted to be crossed within ``horizon_ms``."""

    name = "forecast"

    def __init__(
        self,
        bands: Sequence[Sequence[Any]],
        horizon_ms: int = 3_600_000,
        alpha: float = 0.3,
        beta: float = 0.1,
        significance: float = 4.0,
        min_count: int = 6,
        warmup_ms: int | None = None,
    ) -> None:
        self.bands, self.horizon_ms = bands, horizon_ms
        self.alpha, self.beta = alpha, beta
        self.significance, self.min_count = significance, min_count
        self.warmup_ms = horizon_ms // 2 if warmup_ms is None else warmup_ms
        first = min(bands, key=lambda b: int(b[0]))
        self._limit = Band(int(first[0]), first[1], first[2])
        self._level, self._trend, self._noise = 0.0, 0.0, 0.0  # trend and noise per minute
        self._first_ts, self._last_ts, self._count = 0, 0, 0
        self._value: float | None = None  # the last reading scored, and when its crossing
        self._crossing_ms: int | None = None  # is forecast (None: none within the horizon)
        # the last score_one's (ts, value, step): learn_one takes the same step
        self._memo: tuple[int, float, tuple[float, float, float]] | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "bands": [list(b) for b in self.bands], "horizon_ms": self.horizon_ms,
            "alpha": self.alpha, "beta": self.beta, "significance": self.significance,
            "min_count": self.min_count, "warmup_ms": self.warmup_ms,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {
            "level": self._level, "trend": self._trend, "noise": self._noise,
            "first_ts": self._first_ts, "last_ts": self._last_ts, "count": self._count,
        }  # fmt: skip

    def _load(self, state: Mapping[str, Any]) -> None:
        self._level, self._trend = float(state["level"]), float(state["trend"])
        self._noise, self._last_ts = float(state["noise"]), int(state["last_ts"])
        self._count = int(state["count"])
        self._first_ts = int(state.get("first_ts", self._last_ts))

    def _step(self, ts_ms: int, value: float) -> tuple[float, float, float]:
        """Level, trend and noise after ``value`` (Holt's method, trend per minute)."""
        if self._count == 0:
            return value, 0.0, 0.0
        minutes = max(ts_ms - self._last_ts, 0) / MINUTE_MS
        predicted = self._level + self._trend * minutes
        error = value - predicted
        level = predicted + self.alpha * error
        trend = self._trend
        if minutes > 0:
            beta = 1.0 if self._count == 1 else self.beta  # the first slope seeds the trend
            trend = (1 - beta) * trend + beta * (level - self._level) / minutes
        rate = max(self.alpha, 1.0 / (self._count + 1))
        return level, trend, self._noise + rate * (abs(error) - self._noise)

    def minutes_to_limit(self, level: float, trend: float, noise: float) -> float | None:
        """Minutes until ``level`` crosses the limit at ``trend`` (0 if already beyond), or
        None if it is not heading there significantly."""
        if self._limit.breached(level):
            return 0.0
        limit = self._limit.high if trend > 0 else self._limit.low
        horizon = self.horizon_ms / MINUTE_MS
        if limit is None or abs(trend) * horizon < self.significance * noise:
            return None
        return (limit - level) / trend

    def after_gap(self, ts_ms: int) -> bool:
        """Whether a reading at ``ts_ms`` follows a gap the trend cannot span: longer than
        the horizon and than ten of the stream's usual intervals. Holt's method would carry
        the trend of before the gap across all of it (after a 5.6-hour outage, a rising
        morning load was forecast past its limit and alarmed); the forecast starts afresh
        instead, warm-up included."""
        if self._count < 2:
            return False
        gap = ts_ms - self._last_ts
        usual = (self._last_ts - self._first_ts) / (self._count - 1)
        return gap > self.horizon_ms and gap > 10 * usual

    def score_one(self, ts_ms: int, value: float) -> float:
        self._value, self._crossing_ms = value, None
        if not self.warm(ts_ms) or self.after_gap(ts_ms):
            return 0.0
        step = self._step(ts_ms, value)
        self._memo = (ts_ms, value, step)
        eta = self.minutes_to_limit(*step)
        horizon = self.horizon_ms / MINUTE_MS
        if eta is None or eta > horizon:
            return 0.0
        self._crossing_ms = ts_ms + int(eta * MINUTE_MS)
        low, high = WarningLevel.IV.floor, WarningLevel.III.floor
        return WarningLevel.IV.score if eta == 0 else low + (high - low) * (1 - eta / horizon)

    def warm(self, ts_ms: int) -> bool:
        """Whether the trend at ``ts_ms`` rests on enough readings over enough time."""
        watched = ts_ms - self._first_ts
        return self._count >= self.min_count and watched >= self.warmup_ms

    def learn_one(self, ts_ms: int, value: float) -> None:
        if self.after_gap(ts_ms):
            self._count, self._noise, self._memo = 0, 0.0, None  # as a fresh start
        if self._count == 0:
            self._first_ts = ts_ms
        memo, self._memo = self._memo, None
        if memo is not None and memo[0] == ts_ms and memo[1] == value:
            step = memo[2]  # as score_one took it: nothing has been learnt since
        else:
            step = self._step(ts_ms, value)
        self._level, self._trend, self._noise = step
        self._last_ts = max(self._last_ts, ts_ms)
        self._count += 1

    def evidence(self) -> Evidence:
        if self._value is None:
            return {}
        found: Evidence = {"threshold": self._limit.threshold(self._value)}
        if self._crossing_ms is not None:
            found["forecast_ts_ms"] = self._crossing_ms
        return found
