"""A seasonal baseline: the usual value at this time of day (weekday or weekend), so that
the morning rush is expected and only what differs from it is an anomaly.

The day is cut into slots. Each slot's readings are summed over the day and committed to
the profile once, when the slot ends: an episode cannot teach the profile during the day
it happens, and one day moves the profile by at most ``day_alpha``. The expected value is
interpolated between the centres of neighbouring slots, so a ramp inside a slot is not
mistaken for an anomaly. Times are local (``tz_offset_h``). The deviation's normal tail is
the reading's surprise; the score its likelihood against the series' own history
(:mod:`detectors.scoring.likelihood`), 0 until the profile and ``warmup`` judged readings.

>>> rush = SeasonalBaseline(slot_minutes=60)
>>> def demand(ts):   # a morning peak of 100 at 09:00 local over a floor of 20
...     return 20.0 + 80.0 * max(0.0, 1 - abs((ts / 3_600_000 + 8) % 24 - 9) / 4)
>>> for ts in range(0, 3 * 86_400_000, 600_000):
...     rush.learn_one(ts, demand(ts) + (ts // 600_000) % 3)
>>> at_rush = 3 * 86_400_000 + 30 * 60_000   # 08:30 local
>>> rush.score_one(at_rush, 90.0) < 0.1, round(rush.expected(at_rush)[0])
(True, 89)
>>> rush.score_one(at_rush, 20.0) >= 0.5
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from detectors.scoring.base import BaseDetector, register
from detectors.scoring.likelihood import Graded, t_surprise

DAY_MS = 86_400_000
_MEAN_ABS_TO_SIGMA = 1.2533
_THURSDAY = 3  # 1970-01-01, day 0, was a Thursday (Monday = 0)
POOL_READINGS = 30
"""A slot's spread counts as the whole day's until its own readings outweigh this many."""


@register
class SeasonalBaseline(Graded, BaseDetector):
    """Deviation from the time-of-day profile (split into weekday and weekend profiles when
    ``weekend_split``), in units of that slot's usual residual."""

    name = "seasonal"

    def __init__(
        self,
        slot_minutes: int = 30,
        weekend_split: bool = True,
        tz_offset_h: float = 8.0,
        day_alpha: float = 1 / 7,
        min_scale: float = 1e-6,
        short: int = 5,
        warmup: int = 30,
        log_past_cap: bool = False,
    ) -> None:
        self.slot_minutes, self.weekend_split, self.tz_offset_h = (
            slot_minutes, weekend_split, tz_offset_h,
        )  # fmt: skip
        self.day_alpha, self.min_scale, self.short, self.warmup = (
            day_alpha,
            min_scale,
            short,
            warmup,
        )
        self._graded_by(short, warmup, log_past_cap)
        self._per_day = 1440 // slot_minutes
        self._pool_rate = day_alpha / self._per_day  # the day's spread's slowest rate
        self._remembered = (2.0 - day_alpha) / day_alpha  # days an EWMA remembers
        slots = self._per_day * (2 if weekend_split else 1)
        self._mean = [0.0] * slots
        self._dev = [0.0] * slots
        self._days = [0] * slots  # days committed to the slot's mean
        self._dev_days = [0] * slots  # ... and to its spread
        self._dev_n = [0.0] * slots  # readings a day behind the spread, on average
        self._pool = [0.0, 0.0]  # the mean |residual| over every slot, and readings in it
        self._memo_usual: tuple[int, tuple[float, float, float]] | None = None  # until learn
        self._memo_position: tuple[int, int, int, float, int, int, float] | None = None
        # the open slot: [slot, day, n, sum of values, n judged, sum of |residual|, sum of squares]
        self._open: list[float] = [-1, -1, 0, 0.0, 0, 0.0, 0.0]
        # the profile's lists as tuples, as _state gives them, until the next commit
        self._profile_dump: dict[str, tuple[float, ...]] | None = None

    def _params(self) -> dict[str, Any]:
        return {
            "slot_minutes": self.slot_minutes, "weekend_split": self.weekend_split,
            "tz_offset_h": self.tz_offset_h, "day_alpha": self.day_alpha,
            "min_scale": self.min_scale, "short": self.short, "warmup": self.warmup,
            **self._cap_param(),
        }  # fmt: skip

    def _state(self) -> dict[str, Any]:
        profile = self._profile_dump
        if profile is None:  # the profile changes once a slot, the state is taken each batch
            profile = self._profile_dump = {
                "mean": tuple(self._mean), "dev": tuple(self._dev), "days": tuple(self._days),
                "dev_days": tuple(self._dev_days), "dev_n": tuple(self._dev_n),
            }  # fmt: skip
        return {
            **profile, "pool": tuple(self._pool), "open": tuple(self._open),
            "likelihood": self._likelihood.dump(),
        }  # fmt: skip

    def _load(self, state: Mapping[str, Any]) -> None:
        self._mean = [float(x) for x in state["mean"]]
        self._dev = [float(x) for x in state["dev"]]
        self._days = [int(x) for x in state["days"]]
        self._dev_days = [int(x) for x in state["dev_days"]]
        # a snapshot from before the count was kept: a slot's day taken as 30 readings
        self._dev_n = [float(x) for x in state.get("dev_n", [30.0] * len(self._dev_days))]
        self._pool = [float(x) for x in state.get("pool", [0.0, 0.0])]
        self._memo_usual = None
        self._profile_dump = None
        self._open = list(state["open"])
        self._likelihood.load(state["likelihood"])

    def _position(self, ts_ms: int) -> tuple[int, int, int, float, int, int, float]:
        """(ts_ms, local day number, first slot of that day's profile, position in slots,
        and the two slots of the day whose centres bracket it with the weight of the
        second). A reading asks three times (its expectation, then learning), so the last
        answer is kept."""
        memo = self._memo_position
        if memo is not None and memo[0] == ts_ms:
            return memo
        local = ts_ms + int(self.tz_offset_h * 3_600_000)
        day, ms = divmod(local, DAY_MS)
        weekend = self.weekend_split and (day + _THURSDAY) % 7 >= 5
        position = ms / (self.slot_minutes * 60_000)
        # floor, not int(): in a day's first half slot the lower centre is the day
        # before's last slot (int(-0.4) is 0, which bracketed the wrong pair)
        below = math.floor(position - 0.5) % self._per_day
        above, weight = (below + 1) % self._per_day, (position - 0.5) % 1.0
        memo = (ts_ms, day, (self._per_day if weekend else 0), position, below, above, weight)
        self._memo_position = memo
        return memo

    def _pair(self, ts_ms: int, spread: bool) -> tuple[int, int, float] | None:
        """The two slots whose centres bracket ``ts_ms`` and the weight of the second, from
        the day's own profile or, while it is unlearnt, the other one."""
        _, _, base, _, below, above, weight = self._position(ts_ms)
        learnt = self._dev_days if spread else self._days
        for first in (base, self._per_day - base if self.weekend_split else base):
            a, b = first + below, first + above
            if learnt[a] and learnt[b]:
                return a, b, weight
        return None

    def _mean_at(self, ts_ms: int) -> float | None:
        pair = self._pair(ts_ms, spread=False)
        if pair is None:
            return None
        a, b, w = pair
        return (1 - w) * self._mean[a] + w * self._mean[b]

    def expected(self, ts_ms: int) -> tuple[float, float] | None:
        """The usual value at ``ts_ms`` and the usual spread around it (a standard
        deviation), or None while the profile is unlearnt."""
        usual = self._usual(ts_ms)
        return None if usual is None else usual[:2]

    def _usual(self, ts_ms: int) -> tuple[float, float, float] | None:
        """:meth:`expected`, and the readings behind the spread (the fewer of its two
        slots': days remembered, at most an EWMA's effective (2 - alpha) / alpha, times
        readings a day), Student's t degrees of freedom for a deviation from it."""
        memo = self._memo_usual
        if memo is not None and memo[0] == ts_ms:  # the bank asked already, for residuals
            return memo[1]
        pair = self._pair(ts_ms, spread=True)
        if pair is None:
            return None
        a, b, w = pair
        usual = (1 - w) * self._dev[a] + w * self._dev[b]
        mean = (1 - w) * self._mean[a] + w * self._mean[b]
        days, per_day = self._dev_days, self._dev_n
        # A slot's spread is estimated from few readings, and the lowest of 48 noisy
        # estimates is low by chance: until a slot's own readings outweigh POOL_READINGS,
        # it is not taken as quieter than the whole day (shrunk towards the day's spread;
        # a slot noisier than the day, a rush hour, keeps its own).
        # (min and max written out, each picking the operand the builtin would: a reading
        # of every series passes here)
        n, n_b = per_day[a] * days[a], per_day[b] * days[b]
        if n_b < n:
            n = n_b
        pooled = self._pool[0]
        shrunk = math.sqrt(
            (n * usual * usual + POOL_READINGS * pooled * pooled) / (n + POOL_READINGS)
        )
        remembered = self._remembered
        days_a, days_b = days[a], days[b]
        dof = (remembered if remembered < days_a else days_a) * per_day[a]
        dof_b = (remembered if remembered < days_b else days_b) * per_day[b]
        if dof_b < dof:
            dof = dof_b
        scale = _MEAN_ABS_TO_SIGMA * (shrunk if shrunk > usual else usual)
        if self.min_scale > scale:
            scale = self.min_scale
        dof -= 1.0
        result = (mean, scale, 2.0 if dof < 2.0 else dof)
        self._memo_usual = (ts_ms, result)
        return result

    def _surprise(self, ts_ms: int, value: float) -> float | None:
        usual = self._usual(ts_ms)
        if usual is None:
            self._judged = None
            return None
        expected, scale, dof = usual
        z = (value - expected) / scale
        self._judged = (expected, scale, z)
        # the spread is an estimate from few readings (a slot's days): Student's t, not normal
        return t_surprise(z, dof)

    def _learn_value(self, ts_ms: int, value: float) -> None:
        self._memo_usual = None
        _, day, base, position, _, _, _ = self._position(ts_ms)
        slot = base + int(position) % self._per_day
        if slot != self._open[0] or day != self._open[1]:
            self._commit()
            self._open = [slot, day, 0, 0.0, 0, 0.0, 0.0]
        expected = self._mean_at(ts_ms)
        self._open[2] += 1
        self._open[3] += value
        self._open[6] += value * value
        if expected is not None:
            self._open[4] += 1
            self._open[5] += abs(value - expected)
            pool = self._pool
            pool[1] += 1
            rate = 1 / pool[1]
            if not rate > self._pool_rate:  # max(day_alpha / per day, 1 / readings)
                rate = self._pool_rate
            pool[0] += rate * (abs(value - expected) - pool[0])

    def _commit(self) -> None:
        """Fold the day's readings of the open slot into the profile."""
        slot, _, n, total, judged, residuals, squares = self._open
        if n == 0:
            return
        self._profile_dump = None
        i = int(slot)
        mean = total / n
        if judged:
            spread = residuals / judged
        else:  # no profile yet to judge against: the slot's own spread that day
            spread = math.sqrt(max(squares / n - mean * mean, 0.0)) / _MEAN_ABS_TO_SIGMA
        self._days[i] += 1
        self._mean[i] += max(self.day_alpha, 1 / self._days[i]) * (mean - self._mean[i])
        self._dev_days[i] += 1
        weight = max(self.day_alpha, 1 / self._dev_days[i])
        self._dev[i] += weight * (spread - self._dev[i])
        self._dev_n[i] += weight * ((judged or n) - self._dev_n[i])
