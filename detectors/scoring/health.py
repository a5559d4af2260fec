"""Sensor health: a silent sensor (no data for longer than its cadence allows) and a stuck
sensor (a value that stops moving although the series usually moves).

>>> watch = SilentSensor(cadence_ms=60_000)
>>> watch.learn_one(0, 1.0)
>>> watch.score_at(120_000), watch.score_at(10 * 60_000)
(0.0, 0.6)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detectors.contract.levels import WarningLevel
from detectors.scoring.base import BaseDetector, Evidence, register


@register
class SilentSensor(BaseDetector):
    """Silence longer than ``allowance`` cadences is level IV, longer than ``long_factor``
    cadences level III. :meth:`score_at` asks at any time; :meth:`score_one` scores the
    gap a late reading ends."""

    name = "silent"

    def __init__(
        self, cadence_ms: int = 60_000, allowance: float = 3.5, long_factor: float = 60.0
    ) -> None:
        self.cadence_ms, self.allowance, self.long_factor = cadence_ms, allowance, long_factor
        self._last_ts: int | None = None
        self._silent_ms: int | None = None  # the last score's silence, its evidence

    def _params(self) -> dict[str, Any]:
        return {
            "cadence_ms": self.cadence_ms,
            "allowance": self.allowance,
            "long_factor": self.long_factor,
        }

    def _state(self) -> dict[str, Any]:
        return {"last_ts": self._last_ts}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._last_ts = state["last_ts"]

    def score_at(self, now_ms: int) -> float:
        """How silent the sensor is at ``now_ms``."""
        if self._last_ts is None:
            return 0.0
        silent_ms = self._silent_ms = now_ms - self._last_ts
        if silent_ms > self.long_factor * self.cadence_ms:
            return WarningLevel.III.score
        return WarningLevel.IV.score if silent_ms > self.allowance * self.cadence_ms else 0.0

    def score_one(self, ts_ms: int, value: float) -> float:
        return self.score_at(ts_ms)

    def learn_one(self, ts_ms: int, value: float) -> None:
        self._last_ts = ts_ms if self._last_ts is None else max(self._last_ts, ts_ms)

    def resume(self, at_ms: int, gap_from_ms: int) -> bool:
        """The input as a whole stopped at ``gap_from_ms`` and resumed at ``at_ms``: a
        sensor heard within its allowance before the stop counts its silence from
        ``at_ms`` (it was not silent; nothing was). One already silent stays silent.
        Whether anything changed."""
        last = self._last_ts
        if last is None or last >= at_ms or last < gap_from_ms - self.allowance * self.cadence_ms:
            return False
        self._last_ts = at_ms
        return True

    def evidence(self) -> Evidence:
        if self._silent_ms is None:
            return {}
        return {"silent_ms": self._silent_ms, "threshold": self.allowance * self.cadence_ms}


@register
class StuckSensor(BaseDetector):
    """A run of repeated values (within ``tolerance``) that the series' own rate of change
    makes less likely than ``1e-6``, after at least ``min_run`` repeats."""

    name = "stuck"

    def __init__(
        self,
        min_run: int = 15,
        tolerance: float = 0.0,
        change_alpha: float = 0.01,
        min_history: int = 100,
    ) -> None:
        self.min_run, self.tolerance = min_run, tolerance
        self.change_alpha, self.min_history = change_alpha, min_history
        self._last: float | None = None
        self._run, self._count, self._moves = 0, 0, 1.0
        self._judged: tuple[int, float | None] | None = None  # (repeats, surprise): evidence

    def _params(self) -> dict[str, Any]:
        return {
            "min_run": self.min_run, "tolerance": self.tolerance,
            "change_alpha": self.change_alpha, "min_history": self.min_history,
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        return {"last": self._last, "run": self._run, "count": self._count, "moves": self._moves}

    def _load(self, state: Mapping[str, Any]) -> None:
        self._last, self._run = state["last"], int(state["run"])
        self._count, self._moves = int(state["count"]), float(state["moves"])

    def _next_run(self, value: float) -> int:
        same = self._last is not None and abs(value - self._last) <= self.tolerance
        return self._run + 1 if same else 0

    def score_one(self, ts_ms: int, value: float) -> float:
        run = self._next_run(value)
        if self._count < self.min_history or run < self.min_run:
            self._judged = (run, None)
            return 0.0
        surprise = -run * math.log10(max(1.0 - self._moves, 1e-3))
        self._judged = (run, surprise)
        if surprise >= 30 and run >= 4 * self.min_run:
            return WarningLevel.III.score
        return WarningLevel.IV.score if surprise >= 6 else 0.0

    def learn_one(self, ts_ms: int, value: float) -> None:
        run = self._next_run(value)
        if run < self.min_run:  # a stuck run must not teach us that the series is flat
            self._moves += self.change_alpha * ((1.0 if run == 0 else 0.0) - self._moves)
        self._last, self._run, self._count = value, run, self._count + 1

    def evidence(self) -> Evidence:
        judged = self._judged
        if judged is None:
            return {}
        if judged[1] is None:
            return {"repeats": judged[0]}
        return {"repeats": judged[0], "surprise": judged[1]}
