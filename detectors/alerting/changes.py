"""Which detector decisions can change an alert: the filter in front of the alerting topic,
so that only what changes leaves the worker.

The engine (:mod:`detectors.alerting.engine`) acts on a decision only when its key has an
active alert or the score reaches ``ALARM``. For an active alert, a *repeat* (the same
level, while nothing counts towards clearing or a lower level) changes only the time the
alert was last heard of, and the engine reads that time only when the alert clears, or at a
tick that finds it older than ``stale_ms``. So the filter mirrors each alert's counters
from the decisions it passes, and:

- drops a decision for a key with no alert that cannot raise one;
- holds back repeats: a key's latest repeat goes just before that key's next decision, or
  before a tick that would otherwise find the engine's time of it stale, or at a
  :meth:`ChangeFilter.flush` (the worker flushes at each checkpoint);
- passes everything else, in order.

The engine then gives exactly the events it gives on every decision, while it sees only
this worker's decisions and ticks. An operator's resolve makes the engine forget an alert
that the mirror still holds: the mirror then passes more than it must, and a repeat that
re-raises the alert reaches the engine at the next flush rather than at once.

>>> from detectors.contract.places import Location
>>> def decision(ts, score):
...     return Decision("S1:pm25:condition", "condition", "S1", "pm25", Location("CB"),
...                     "static", score, 120.0, ts)
>>> changes = ChangeFilter()
>>> [d.ts_ms if isinstance(d, Decision) else ("tick", d) for d in changes.select(
...     [decision(0, 0.2), decision(1, 0.6), decision(2, 0.6), decision(3, 0.62), 60_000])]
[1, ('tick', 60000)]
>>> changes.flush()[0].ts_ms   # the latest repeat, held back
3
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any

from detectors.alerting.engine import AlertPolicy
from detectors.alerting.types import Decision, decision_of
from detectors.contract.events import CaseReport
from detectors.contract.levels import ALARM, WarningLevel, level_for

Step = Decision | int | CaseReport
"""What detection yields: a decision, an event-time tick (an int, its time), or a case
event (whose step clocks the engine watches: always passed, in order)."""


class ChangeFilter:
    """The decisions and ticks the alert engine needs, from all that detection yields."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy or AlertPolicy()
        # key -> [level, below, lower, last heard, last heard as passed] of the alert the
        # engine holds, counted as the engine counts them
        self._open: dict[str, list[int]] = {}
        self._held: dict[str, Decision] = {}  # key -> its latest repeat, not yet passed
        self._sent: dict[str, int] = {}  # key -> decisions sent (see :meth:`stamp`)

    def select(self, steps: Iterable[Step]) -> list[Step]:
        """The steps that can change an alert, in order (held repeats come out later)."""
        out: list[Step] = []
        for step in steps:
            if isinstance(step, int):
                out += self._pass_time(step)
                out.append(step)
            elif isinstance(step, CaseReport):
                out.append(step)  # no detector's alert: the engine's case clocks need it
            else:
                out += self._decide(step)
        return out

    def flush(self) -> list[Decision]:
        """The held repeats, to send now (before a tick, or before acking their input)."""
        held, self._held = list(self._held.values()), {}
        for decision in held:
            self._passed(decision)
        return held

    def _passed(self, decision: Decision) -> None:
        alert = self._open.get(decision.key)
        if alert is not None:
            alert[4] = max(alert[4], decision.ts_ms)

    def _decide(self, decision: Decision) -> list[Decision]:
        alert = self._open.get(decision.key)
        if alert is None:
            if not decision.score >= ALARM:  # the engine's test, NaN included
                return []  # no alert, and this one raises none
            level = int(level_for(decision.score) or WarningLevel.IV)
            self._open[decision.key] = [level, 0, 0, decision.ts_ms, decision.ts_ms]
            return [decision]
        alert[3] = max(alert[3], decision.ts_ms)
        if self._repeats(alert, decision):
            held = self._held.get(decision.key)
            if held is None or decision.ts_ms >= held.ts_ms:  # all a repeat moves is max()
                self._held[decision.key] = decision
            return []
        out = [decision]
        held = self._held.pop(decision.key, None)
        if held is not None:
            out.insert(0, held)
        alert[4] = alert[3]  # every decision of the key has now reached the engine
        self._count(decision, alert)
        return out

    def _repeats(self, alert: list[int], decision: Decision) -> bool:
        """Whether the engine would change nothing but the alert's last-heard time."""
        if decision.score < self.policy.clear_below or alert[1] or alert[2]:
            return False
        return int(level_for(decision.score) or WarningLevel.IV) == alert[0]

    def _count(self, decision: Decision, alert: list[int]) -> None:
        """The engine's ``_update`` on the mirrored counters."""
        if decision.score < self.policy.clear_below:
            alert[1] += 1
            if alert[1] >= self.policy.clear_after:
                del self._open[decision.key]
            return
        alert[1] = 0
        level = int(level_for(decision.score) or WarningLevel.IV)
        if level < alert[0]:
            alert[2] += 1
            if alert[2] < self.policy.lower_after:
                return
        alert[0], alert[2] = level, 0

    def _pass_time(self, now_ms: int) -> list[Decision]:
        """The repeats a tick at ``now_ms`` needs first: those whose alert the engine would
        otherwise think stale. Then the mirror clears the alerts the tick finds stale."""
        due = [d for k, d in self._held.items() if now_ms - self._open[k][4] > self.policy.stale_ms]
        for decision in due:
            del self._held[decision.key]
            self._passed(decision)
        stale = [k for k, a in self._open.items() if now_ms - a[3] > self.policy.stale_ms]
        for key in stale:
            del self._open[key]
        return due

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Plain data: the policy, the mirrored alerts and any held repeats."""
        return {
            "policy": dataclasses.asdict(self.policy),
            "open": {k: list(a) for k, a in self._open.items()},
            "held": [dataclasses.asdict(d) for d in self._held.values()],
            "sent": dict(self._sent),
        }

    def stamp(self, key: str) -> int:
        """The number of a decision of ``key`` as it is sent: 1, 2, ... per key, restored
        with the filter, so a worker that restarts from its last checkpoint sends the
        decisions since again under the same numbers, and the alert engine applies each
        once."""
        self._sent[key] = n = self._sent.get(key, 0) + 1
        return n

    def absorb(self, other: ChangeFilter) -> None:
        """Take over ``other``'s mirrored alerts and held repeats (another partition's
        share of a worker's filter, see :mod:`streams.detection`)."""
        self._open.update(other._open)
        self._held.update(other._held)
        self._sent.update(other._sent)

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> ChangeFilter:
        changes = cls(AlertPolicy(**snapshot["policy"]))
        changes._open = {k: [int(x) for x in a] for k, a in snapshot["open"].items()}
        for doc in snapshot.get("held", []):
            decision = decision_of(doc)
            changes._held[decision.key] = decision
        changes._sent = {k: int(n) for k, n in snapshot.get("sent", {}).items()}
        return changes
