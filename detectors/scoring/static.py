"""Static rules from the standards: a limit band held for a duration, and rainstorm totals.

>>> from detectors.scoring.limits import aqi_bands
>>> rule = StaticLimit(bands=aqi_bands("pm25"), hold_ms=10 * 60_000)
>>> for minute in range(12):
...     rule.learn_one(minute * 60_000, 120.0)   # above IAQI 150 (III) for 11 minutes
>>> rule.score_one(12 * 60_000, 120.0), rule.evidence()["threshold"]
(0.78, 115.0)
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.scoring.base import BaseDetector, Evidence, register
from detectors.scoring.limits import RAINSTORM, Band

HOUR_MS = 3_600_000


@register
class StaticLimit(BaseDetector):
    """A limit rule: the gravest band whose limit the value has stayed beyond for
    ``hold_ms`` gives the score of that band's warning level."""

    name = "static"

    def __init__(self, bands: Sequence[Sequence[Any]], hold_ms: int = 0) -> None:
        self.bands = bands
        self.hold_ms = hold_ms
        self._bands = [Band(int(b[0]), b[1], b[2]) for b in bands]
        self._since: list[int | None] = [None] * len(self._bands)
        # inside every band's limits no band is breached: most readings, judged at once
        lows = [b.low for b in self._bands if b.low is not None]
        highs = [b.high for b in self._bands if b.high is not None]
        self._inside = (max(lows, default=-math.inf), min(highs, default=math.inf))
        self._last: tuple[float, int | None] | None = None  # value, band held

    def _params(self) -> dict[str, Any]:
        return {"bands": [list(b) for b in self._bands], "hold_ms": self.hold_ms}

    def _state(self) -> dict[str, Any]:
        return {"since": tuple(self._since)}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._since = list(state["since"])

    def score_one(self, ts_ms: int, value: float) -> float:
        low, high = self._inside
        held = None if low <= value <= high else self._held(ts_ms, value)
        self._last = (value, held)
        return 0.0 if held is None else WarningLevel(self._bands[held].level).score

    def _held(self, ts_ms: int, value: float) -> int | None:
        """The index of the gravest band breached for at least ``hold_ms``."""
        best: int | None = None
        for i, band in enumerate(self._bands):
            started = self._since[i]
            since = ts_ms if started is None else started
            held = band.breached(value) and ts_ms - since >= self.hold_ms
            if held and (best is None or band.level > self._bands[best].level):
                best = i
        return best

    def _nearest(self, value: float) -> float | None:
        return self._bands[0].threshold(value) if self._bands else None

    def learn_one(self, ts_ms: int, value: float) -> None:
        low, high = self._inside
        if low <= value <= high:
            since = self._since
            if since.count(None) != len(since):  # any held (no generator: every reading)
                self._since = [None] * len(self._bands)
            return
        for i, band in enumerate(self._bands):
            if not band.breached(value):
                self._since[i] = None
            elif self._since[i] is None:
                self._since[i] = ts_ms

    def evidence(self) -> Evidence:
        if self._last is None:
            return {}
        value, held = self._last
        if held is None:
            return {"threshold": self._nearest(value), "band": None}
        band = self._bands[held]
        return {"threshold": band.threshold(value), "band": band.level}


@register
class RainstormWarning(BaseDetector):
    """Rainstorm warning levels from rolling rainfall totals (CMA: 50 mm in 12 h blue, in
    6 h yellow, in 3 h orange; 100 mm in 3 h red). Values are mm since the last reading."""

    name = "rainstorm"

    def __init__(self, rules: Sequence[Sequence[float]] | None = None) -> None:
        self.rules = rules
        chosen = rules if rules is not None else [(int(lv), h, mm) for lv, h, mm in RAINSTORM]
        self._rules = [(int(r[0]), float(r[1]) * HOUR_MS, float(r[2])) for r in chosen]
        self._span_ms = max((r[1] for r in self._rules), default=0.0)
        self._rain: deque[tuple[int, float]] = deque()
        self._evidence: Evidence = {}

    def _params(self) -> dict[str, Any]:
        return {"rules": [list(r) for r in self.rules] if self.rules is not None else None}

    def _state(self) -> dict[str, Any]:
        return {"rain": [list(r) for r in self._rain]}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._rain = deque((int(ts), float(mm)) for ts, mm in state["rain"])

    def _total(self, ts_ms: int, window_ms: float, value: float) -> float:
        return value + sum(mm for ts, mm in self._rain if ts > ts_ms - window_ms)

    def score_one(self, ts_ms: int, value: float) -> float:
        best: tuple[int, float, float] | None = None
        for level, window_ms, mm in self._rules:
            total = self._total(ts_ms, window_ms, value)
            if total >= mm and (best is None or level > best[0]):
                best = (level, window_ms, total)
        if best is None:
            self._evidence = {"threshold": self._rules[0][2] if self._rules else None}
            return 0.0
        self._evidence = {"threshold": best[2], "window_h": best[1] / HOUR_MS}
        return WarningLevel(best[0]).score

    def learn_one(self, ts_ms: int, value: float) -> None:
        if value > 0.0:
            self._rain.append((ts_ms, value))
        while self._rain and self._rain[0][0] <= ts_ms - self._span_ms:
            self._rain.popleft()

    def evidence(self) -> Evidence:
        return self._evidence
