"""The detector for a stream nobody described: no metric, no limits, no cadence promises.

It has to hold on whatever arrives: spikes, level shifts, drifts, daily cycles, flat and
count-like series. So it asks one robust, scale-free question of each reading: how far is
the value from the median of a sliding window, in robust deviations (half the interquartile
range; a flat or integer series gets its resolution as the least scale)? One wild value
cannot move a median or a quartile, and the window (1,000 readings: most of a day at a
minute's cadence, three and a half days at five minutes') remembers a daily cycle's range,
so a rush hour is not news.

The z-score's normal tail is the reading's surprise, scored by
:class:`~detectors.scoring.likelihood.AnomalyLikelihood` against the stream's own history
of surprises: alone, and averaged over the last ``short`` readings, so a shift made of
moderate values counts too. One pass, memory bounded by the window, no look-ahead; silent
(0) for the first ``warmup`` readings.

A second question, how unusual the change from the last reading is, was tried and left
out: on labelled real-world streams it found no anomaly the level missed and doubled the
false alarms (a noisy stream's steps are its noise), see the issue's closing note.

>>> detector = UnknownStream()
>>> wave = [20.0 + 5.0 * ((i * 37) % 11) / 10 for i in range(600)]
>>> scores = []
>>> for i, v in enumerate(wave):
...     scores.append(detector.score_one(i, v))
...     detector.learn_one(i, v)
>>> max(scores) < 0.5 and detector.score_one(600, 80.0) > 0.5
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detectors.scoring.base import BaseDetector, Evidence, register
from detectors.scoring.likelihood import AnomalyLikelihood, normal_surprise
from detectors.scoring.robust import RollingWindow

_READY = 30
"""Readings a window needs before its median and spread mean anything."""


@register
class UnknownStream(BaseDetector):
    """The robust level surprise of a sliding ``window``, scored by its likelihood
    against the stream's own history (averaged over ``short`` readings, a long-run memory
    of ``memory``); 0 until ``warmup`` readings have been seen."""

    name = "default"

    def __init__(
        self, window: int = 1000, short: int = 5, memory: int = 2000, warmup: int = 180
    ) -> None:
        self.window, self.short, self.memory, self.warmup = window, short, memory, warmup
        self._level = RollingWindow(window)
        self._likelihood = AnomalyLikelihood(short, memory, max(0, warmup - _READY))
        self._last: float | None = None
        self._resolution = math.inf  # the least non-zero change seen: a scale floor
        self._evidence: Evidence = {}
        self._memo: tuple[float, float | None, float] | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "window": self.window,
            "short": self.short,
            "memory": self.memory,
            "warmup": self.warmup,
        }

    def _state(self) -> dict[str, Any]:
        return {
            "level": self._level.dump(),
            "likelihood": self._likelihood.dump(),
            "last": self._last,
            "resolution": None if math.isinf(self._resolution) else self._resolution,
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        self._level.load(state["level"])
        self._likelihood.load(state["likelihood"])
        self._last = state["last"]
        resolution = state["resolution"]
        self._resolution = math.inf if resolution is None else float(resolution)
        self._memo = None

    def _z(self, window: RollingWindow, x: float) -> float:
        median, sigma = window.median_and_sigma()
        floor = self._resolution if math.isfinite(self._resolution) else 1e-9
        return (x - median) / max(sigma, floor, 1e-9 * abs(median))

    def surprise(self, value: float) -> float | None:
        """The reading's surprise (``-log10`` of its tail probability), None while the
        windows are too short to say."""
        if self._last is None or len(self._level) < _READY:
            return None
        level = self._z(self._level, value)
        self._evidence = {"expected": self._level.median_and_sigma()[0], "z": level}
        return normal_surprise(level)

    def score_one(self, ts_ms: int, value: float) -> float:
        surprise = self.surprise(value)
        score = 0.0 if surprise is None else self._likelihood.score(surprise)
        self._memo = (value, surprise, score)
        return score

    def learn_one(self, ts_ms: int, value: float) -> None:
        memo, self._memo = self._memo, None
        if memo is not None and memo[0] == value:  # scored just now: reuse it
            surprise, score = memo[1], memo[2]
        else:
            surprise, score = self.surprise(value), None
        if surprise is not None:
            self._likelihood.learn(surprise, score)
        if self._last is not None:
            change = abs(value - self._last)
            if change > 0.0:
                self._resolution = min(self._resolution, change)
        self._level.add(value)
        self._last = value

    def evidence(self) -> Evidence:
        return self._evidence
