"""Control charts on a slowly learnt mean and spread: EWMA for shifts, CUSUM for changes.

Both standardise a reading against an exponentially weighted mean and variance learnt with
``slow_alpha`` (a memory of about ``1 / slow_alpha`` readings). The chart's statistic
becomes a surprise (a normal tail for EWMA; for CUSUM the tail ``exp(-2 k S)`` of its
stationary distribution) and the score its likelihood against the series' own history
(:mod:`detectors.scoring.likelihood`); 0 until ``warmup`` readings have been judged.

>>> chart = EwmaChart(slow_alpha=0.05)
>>> for i in range(200):
...     chart.learn_one(i, 10.0 + (-1) ** i)
>>> chart.score_one(200, 10.0) < 0.1, chart.score_one(200, 30.0) >= 0.5
(True, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from detectors.scoring.base import BaseDetector, Evidence, register
from detectors.scoring.likelihood import Graded, normal_surprise

_LOG10_E = math.log10(math.e)
_LOG10_2 = math.log10(2.0)


class _Baseline:
    """An exponentially weighted mean and variance, with a count for the warm-up."""

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, alpha: float) -> None:
        self.alpha, self.count, self.mean, self.var = alpha, 0, 0.0, 0.0

    def update(self, value: float) -> None:
        self.count += 1
        rate = 1.0 / self.count
        if not rate > self.alpha:  # max(alpha, 1 / count), as max picks
            rate = self.alpha
        delta = value - self.mean
        self.mean += rate * delta
        self.var = (1 - rate) * (self.var + rate * delta * delta)

    def sigma(self, floor: float) -> float:
        sigma = math.sqrt(self.var)
        return floor if floor > sigma else sigma  # max(sigma, floor)

    def dump(self) -> tuple[float, ...]:
        return (self.count, self.mean, self.var)

    def load(self, state: Sequence[float]) -> None:
        self.count, self.mean, self.var = int(state[0]), float(state[1]), float(state[2])


@register
class EwmaChart(Graded, BaseDetector):
    """An EWMA control chart: the fast average ``z = lam x + (1 - lam) z`` in units of its
    standard error around the slow baseline."""

    name = "ewma"

    def __init__(
        self,
        lam: float = 0.2,
        slow_alpha: float = 0.01,
        min_scale: float = 1e-6,
        warmup: int = 30,
        short: int = 5,
        log_past_cap: bool = False,
    ) -> None:
        self.lam, self.short = lam, short
        self.slow_alpha, self.min_scale, self.warmup = slow_alpha, min_scale, warmup
        self._graded_by(short, warmup, log_past_cap)
        self._base = _Baseline(slow_alpha)
        self._spread = math.sqrt(lam / (2 - lam))  # of the fast average, in sigmas
        self._fast: float | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "lam": self.lam, "slow_alpha": self.slow_alpha, "min_scale": self.min_scale,
            "warmup": self.warmup, "short": self.short, **self._cap_param(),
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {
            "base": self._base.dump(),
            "fast": self._fast,
            "likelihood": self._likelihood.dump(),
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        self._base.load(state["base"])
        self._fast = state["fast"]
        self._likelihood.load(state["likelihood"])

    def _next_fast(self, value: float) -> float:
        return value if self._fast is None else self.lam * value + (1 - self.lam) * self._fast

    def _surprise(self, ts_ms: int, value: float) -> float | None:
        if self._base.count < self.warmup:
            return None
        limit = self._base.sigma(self.min_scale) * self._spread
        z = (self._next_fast(value) - self._base.mean) / limit
        self._judged = (self._base.mean, limit, z)
        return normal_surprise(z)

    def _learn_value(self, ts_ms: int, value: float) -> None:
        self._fast = self._next_fast(value)
        self._base.update(value)


@register
class Cusum(Graded, BaseDetector):
    """Two-sided CUSUM of standardised readings with allowance ``k``; the sums are capped at
    ``h`` so the score drains soon after a change ends."""

    name = "cusum"

    def __init__(
        self,
        k: float = 0.75,
        h: float = 24.0,
        slow_alpha: float = 0.01,
        min_scale: float = 1e-6,
        warmup: int = 30,
        short: int = 5,
        log_past_cap: bool = False,
    ) -> None:
        self.k, self.h, self.short = k, h, short
        self.slow_alpha, self.min_scale, self.warmup = slow_alpha, min_scale, warmup
        self._graded_by(short, warmup, log_past_cap)
        self._base = _Baseline(slow_alpha)
        self._up = 0.0
        self._down = 0.0
        self._memo_sums: tuple[float, tuple[float, float]] | None = None  # (value, sums)
        self._judged_sums: tuple[float, float] | None = None  # (expected, cusum), evidence

    def _params(self) -> dict[str, Any]:
        return {
            "k": self.k, "h": self.h, "slow_alpha": self.slow_alpha,
            "min_scale": self.min_scale, "warmup": self.warmup, "short": self.short,
            **self._cap_param(),
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {
            "base": self._base.dump(), "up": self._up, "down": self._down,
            "likelihood": self._likelihood.dump(),
        }  # fmt: skip

    def _load(self, state: Mapping[str, Any]) -> None:
        self._base.load(state["base"])
        self._up, self._down = float(state["up"]), float(state["down"])
        self._memo_sums = None
        self._likelihood.load(state["likelihood"])

    def _sums(self, value: float) -> tuple[float, float]:
        memo = self._memo_sums  # score_one's, for learn_one: nothing learnt in between
        if memo is not None and memo[0] == value:
            return memo[1]
        base = self._base
        if base.count < self.warmup:
            return 0.0, 0.0
        z = (value - base.mean) / base.sigma(self.min_scale)
        cap, k = self.h, self.k
        # min(cap, max(0.0, sum)), written out to pick as min and max do (NaN included)
        up = self._up + z - k
        up = up if up > 0.0 else 0.0
        up = up if up < cap else cap
        down = self._down - z - k
        down = down if down > 0.0 else 0.0
        down = down if down < cap else cap
        sums = (up, down)
        self._memo_sums = (value, sums)
        return sums

    def _surprise(self, ts_ms: int, value: float) -> float | None:
        if self._base.count < self.warmup:
            return None
        up, down = self._sums(value)
        self._judged_sums = (self._base.mean, up if up >= down else -down)
        # P(S >= s) ~ exp(-2 k s) for each side (Siegmund), so twice that for either
        surprise = 2 * self.k * (down if down > up else up) * _LOG10_E - _LOG10_2
        return surprise if surprise > 0.0 else 0.0  # max(0.0, surprise)

    def _learn_value(self, ts_ms: int, value: float) -> None:
        self._up, self._down = self._sums(value)
        self._memo_sums = None
        self._base.update(value)

    def evidence(self) -> Evidence:
        judged = self._judged_sums
        return {} if judged is None else {"expected": judged[0], "cusum": judged[1]}
