"""Pacing by event time: at speed N, events a minute apart in event time are sent
60/N seconds apart; at max speed, nothing waits.

>>> now = [100.0]
>>> pacer = EventPacer(speed=10.0, clock=lambda: now[0])
>>> pacer.delay(1_000_000)          # the first event anchors the two clocks
0.0
>>> pacer.delay(1_060_000)          # a minute of event time later: 6 s at 10x
6.0
>>> now[0] = 104.0; pacer.delay(1_060_000)
2.0
>>> EventPacer(None).delay(5)
0.0
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class EventPacer:
    """Tells how long to wait before sending an event of time ``ts_ms``."""

    speed: float | None
    clock: Callable[[], float] = time.monotonic
    _anchor: tuple[int, float] | None = field(init=False, default=None)

    def delay(self, ts_ms: int) -> float:
        """Seconds to wait before sending an event of time ``ts_ms`` (0 if due)."""
        if self.speed is None:
            return 0.0
        now = self.clock()
        if self._anchor is None:
            self._anchor = (ts_ms, now)
            return 0.0
        first_ts, first_wall = self._anchor
        due = first_wall + (ts_ms - first_ts) / 1000.0 / self.speed
        return max(0.0, due - now)

    def remaining_s(self, ts_ms: int, last_ts_ms: int) -> float:
        """Wall seconds still needed to pace from ``ts_ms`` to ``last_ts_ms``."""
        if self.speed is None:
            return 0.0
        return max(0.0, (last_ts_ms - ts_ms) / 1000.0 / self.speed)
