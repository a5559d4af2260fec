"""The detector for a stream nobody described: no metric, no limits, no cadence promises.

It has to hold on whatever arrives: spikes, level shifts, drifts, daily cycles, flat and
count-like series, and anomalies of shape inside the usual range. So it asks two robust,
scale-free questions of each reading (medians and half interquartile ranges of sliding
windows, so one wild value cannot move them; a flat or integer series gets its resolution
as the least scale):

* **level**: how far is the value from the window's median, in robust deviations? Spikes,
  dips and shifts the recent past never reached. The window (1,000 readings: most of a day
  at a minute's cadence, three and a half days at five minutes') remembers a daily cycle's
  range, so a rush hour is not news.
* **step**: how far is the change from the last reading from the usual change? A beat that
  is too steep, a sudden jump inside the usual range, a burst of noise: the shape
  anomalies a level range hides. A change across a gap (the reading came at least 1.5
  usual intervals after the last one, so one or more readings are missing) is not one
  step: its question is not asked and it does not join the usual changes. A return from
  an excursion that went unreported, or a drift over hours without data, is not a jump.

Each question's normal-tail surprise is judged against its own history by its own
:class:`~detectors.scoring.likelihood.AnomalyLikelihood` (alone, and averaged over the
last ``short`` readings, so a shift made of moderate values counts too); the rarer answer,
corrected for asking twice, is the score. Judged separately, a noisy stream's steps
(which are its noise) are discounted by their own heavy tail instead of drowning the level
question: asked of one shared likelihood, the step question doubled false alarms on
labelled real-world streams. A surprise past
:data:`~detectors.scoring.likelihood.SURPRISE_CAP` (one in 10^12) counts only by the
logarithm of how far past it lies: no model of a stream nobody described is right that far
out, so what makes such a reading rare is how seldom this stream goes beyond its model's
reach (the fitted tail learns that), not how far. Counted in full, a stream whose steps
regularly break the model (a jump at the same hour every day from a flat night, a beat far
steeper than the noise between beats) scored about 1.0 at every one, day after day.
One pass, memory bounded by the windows, no look-ahead;
silent (0) for the first ``warmup`` readings; an alarm is raised at its onset and held
(:data:`~detectors.scoring.likelihood.HELD`) while it goes on.

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

from detectors.contract.levels import ALARM
from detectors.scoring.base import BaseDetector, Evidence, register
from detectors.scoring.likelihood import (
    HELD,
    AnomalyLikelihood,
    normal_surprise,
    surprise_score,
)
from detectors.scoring.robust import RollingWindow

_READY = 30
"""Readings a window needs before its median and spread mean anything."""
INTERVALS = 101
"""Recent intervals between readings whose median is the stream's usual interval."""
GAP = 1.5
"""A reading this many usual intervals after the last one follows a gap: the elapsed time
rounds to two intervals or more, so at least one reading is missing."""


@register
class UnknownStream(BaseDetector):
    """Robust level and step surprises of sliding windows of ``window`` readings, each
    scored by its likelihood against its own history (averaged over ``short`` readings, a
    long-run memory of ``memory``); 0 until ``warmup`` readings have been seen."""

    name = "default"

    def __init__(
        self, window: int = 1000, short: int = 5, memory: int = 2000, warmup: int = 180
    ) -> None:
        self.window, self.short, self.memory, self.warmup = window, short, memory, warmup
        self._level = RollingWindow(window)
        self._step = RollingWindow(window)
        ready = max(0, warmup - _READY)
        self._likelihood = AnomalyLikelihood(short, memory, ready, hold=False, log_past_cap=True)
        self._step_likelihood = AnomalyLikelihood(
            short, memory, ready, hold=False, log_past_cap=True
        )
        self._last: float | None = None
        self._intervals = RollingWindow(INTERVALS)
        self._last_ts: int | None = None
        self._usual = 0.0  # the usual interval, 0 until known
        self._resolution = math.inf  # the least non-zero change seen: a scale floor
        self._held = False
        self._evidence: Evidence = {}
        self._memo: tuple[float, tuple[float, float] | None, float] | None = None

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
            "step": self._step.dump(),
            "likelihood": self._likelihood.dump(),
            "step_likelihood": self._step_likelihood.dump(),
            "last": self._last,
            "intervals": self._intervals.dump(),
            "last_ts": self._last_ts,
            "resolution": None if math.isinf(self._resolution) else self._resolution,
            "held": self._held,
        }

    def _load(self, state: Mapping[str, Any]) -> None:
        self._level.load(state["level"])
        self._step.load(state["step"])
        self._likelihood.load(state["likelihood"])
        self._step_likelihood.load(state["step_likelihood"])
        self._last = state["last"]
        self._intervals.load(state.get("intervals", []))  # absent from older snapshots
        self._last_ts = state.get("last_ts")
        self._usual = self._usual_interval()
        resolution = state["resolution"]
        self._resolution = math.inf if resolution is None else float(resolution)
        self._held = bool(state["held"])
        self._memo = None

    def _z(self, window: RollingWindow, x: float) -> float:
        median, sigma = window.median_and_sigma()
        floor = self._resolution if math.isfinite(self._resolution) else 1e-9
        return (x - median) / max(sigma, floor, 1e-9 * abs(median))

    def _usual_interval(self) -> float:
        return self._intervals.median_and_sigma()[0] if len(self._intervals) >= _READY else 0.0

    def after_gap(self, ts_ms: int) -> bool:
        """Whether a reading at ``ts_ms`` comes :data:`GAP` usual intervals or more after
        the last one (False until the usual interval is known)."""
        last, usual = self._last_ts, self._usual
        return last is not None and usual > 0.0 and ts_ms - last >= GAP * usual

    def surprises(self, value: float, gap: bool = False) -> tuple[float, float] | None:
        """The reading's level and step surprises (``-log10`` of their normal tails), None
        while the windows are too short to say; after a ``gap`` the step's is 0."""
        if self._last is None or len(self._level) < _READY:
            return None
        level = self._z(self._level, value)
        step = 0.0 if gap else self._z(self._step, value - self._last)
        self._evidence = {"expected": self._level.median_and_sigma()[0], "z": level, "step_z": step}
        return normal_surprise(level), normal_surprise(step)

    def score_one(self, ts_ms: int, value: float) -> float:
        surprises = self.surprises(value, self.after_gap(ts_ms))
        score = 0.0
        if surprises is not None and self._likelihood.ready():
            rarest = max(
                self._likelihood.rarity(surprises[0]), self._step_likelihood.rarity(surprises[1])
            )
            score = surprise_score(rarest - math.log10(2.0 - 10.0**-rarest))  # asked twice
            if self._held and score >= ALARM:
                score = HELD
        self._memo = (value, surprises, score)
        return score

    def learn_one(self, ts_ms: int, value: float) -> None:
        memo, self._memo = self._memo, None
        if memo is None or memo[0] != value:
            self.score_one(ts_ms, value)
            memo, self._memo = self._memo, None
        assert memo is not None
        surprises, score = memo[1], memo[2]
        if surprises is not None:
            self._held = score >= ALARM or (self._held and score >= HELD)
            self._likelihood.learn(surprises[0])
            self._step_likelihood.learn(surprises[1])
        if self._last is not None:
            change = abs(value - self._last)
            if change > 0.0:
                self._resolution = min(self._resolution, change)
            if not self.after_gap(ts_ms):
                self._step.add(value - self._last)
        if self._last_ts is not None and ts_ms > self._last_ts:
            self._intervals.add(float(ts_ms - self._last_ts))
            self._usual = self._usual_interval()
        self._level.add(value)
        self._last, self._last_ts = value, ts_ms

    def evidence(self) -> Evidence:
        return self._evidence
