"""Control charts on a slowly learnt mean and spread: EWMA for shifts, CUSUM for changes.

Both standardise a reading against an exponentially weighted mean and variance learnt with
``slow_alpha`` (a memory of about ``1 / slow_alpha`` readings).

>>> chart = EwmaChart(slow_alpha=0.05)
>>> for i in range(200):
...     chart.learn_one(i, 10.0 + (-1) ** i)
>>> chart.score_one(200, 10.0), chart.score_one(200, 30.0) >= 0.5
(0.0, True)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detectors.scoring.base import BaseDetector, Evidence, register, squash, z_score


class _Baseline:
    """An exponentially weighted mean and variance, with a count for the warm-up."""

    __slots__ = ("alpha", "count", "mean", "var")

    def __init__(self, alpha: float) -> None:
        self.alpha, self.count, self.mean, self.var = alpha, 0, 0.0, 0.0

    def update(self, value: float) -> None:
        self.count += 1
        rate = max(self.alpha, 1.0 / self.count)
        delta = value - self.mean
        self.mean += rate * delta
        self.var = (1 - rate) * (self.var + rate * delta * delta)

    def sigma(self, floor: float) -> float:
        return max(math.sqrt(self.var), floor)

    def dump(self) -> list[float]:
        return [self.count, self.mean, self.var]

    def load(self, state: list[float]) -> None:
        self.count, self.mean, self.var = int(state[0]), float(state[1]), float(state[2])


@register
class EwmaChart(BaseDetector):
    """An EWMA control chart: the fast average ``z = lam x + (1 - lam) z`` against control
    limits at ``alarm`` times its standard error around the slow baseline."""

    name = "ewma"

    def __init__(
        self,
        lam: float = 0.2,
        alarm: float = 5.0,
        dead: float = 2.5,
        slow_alpha: float = 0.01,
        min_scale: float = 1e-6,
        warmup: int = 30,
    ) -> None:
        self.lam, self.alarm, self.dead = lam, alarm, dead
        self.slow_alpha, self.min_scale, self.warmup = slow_alpha, min_scale, warmup
        self._base = _Baseline(slow_alpha)
        self._fast: float | None = None
        self._evidence: Evidence = {}

    def _params(self) -> dict[str, Any]:
        return {
            "lam": self.lam, "alarm": self.alarm, "dead": self.dead,
            "slow_alpha": self.slow_alpha, "min_scale": self.min_scale, "warmup": self.warmup,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {"base": self._base.dump(), "fast": self._fast}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._base.load(state["base"])
        self._fast = state["fast"]

    def _next_fast(self, value: float) -> float:
        return value if self._fast is None else self.lam * value + (1 - self.lam) * self._fast

    def score_one(self, ts_ms: int, value: float) -> float:
        if self._base.count < self.warmup:
            return 0.0
        limit = self._base.sigma(self.min_scale) * math.sqrt(self.lam / (2 - self.lam))
        z = (self._next_fast(value) - self._base.mean) / limit
        self._evidence = {"expected": self._base.mean, "scale": limit, "z": z}
        return z_score(z, self.alarm, self.dead)

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._fast = self._next_fast(value)
        self._base.update(value)

    def evidence(self) -> Evidence:
        return self._evidence


@register
class Cusum(BaseDetector):
    """Two-sided CUSUM of standardised readings with allowance ``k`` and decision interval
    ``h``; the sums are capped at ``2 h`` so the score drains soon after a change ends."""

    name = "cusum"

    def __init__(
        self,
        k: float = 0.75,
        h: float = 12.0,
        slow_alpha: float = 0.01,
        min_scale: float = 1e-6,
        warmup: int = 30,
    ) -> None:
        self.k, self.h = k, h
        self.slow_alpha, self.min_scale, self.warmup = slow_alpha, min_scale, warmup
        self._base = _Baseline(slow_alpha)
        self._up = 0.0
        self._down = 0.0
        self._evidence: Evidence = {}

    def _params(self) -> dict[str, Any]:
        return {
            "k": self.k, "h": self.h, "slow_alpha": self.slow_alpha,
            "min_scale": self.min_scale, "warmup": self.warmup,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {"base": self._base.dump(), "up": self._up, "down": self._down}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._base.load(state["base"])
        self._up, self._down = float(state["up"]), float(state["down"])

    def _sums(self, value: float) -> tuple[float, float]:
        if self._base.count < self.warmup:
            return 0.0, 0.0
        z = (value - self._base.mean) / self._base.sigma(self.min_scale)
        cap = 2 * self.h
        return min(cap, max(0.0, self._up + z - self.k)), min(
            cap, max(0.0, self._down - z - self.k)
        )

    def score_one(self, ts_ms: int, value: float) -> float:
        up, down = self._sums(value)
        self._evidence = {"expected": self._base.mean, "cusum": up if up >= down else -down}
        return squash(max(up, down) - self.h / 2, self.h / 2)

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._up, self._down = self._sums(value)
        self._base.update(value)

    def evidence(self) -> Evidence:
        return self._evidence
