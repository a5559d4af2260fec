"""Catalog promises kept or broken: a source whose data breaks the quality promise of its
catalog entry in force (:mod:`detectors.contract.catalog`) for longer than the entry's
allowance raises a data-quality alert to its owning department.

The rule, judged at each event-time minute tick ``t`` for every watched source:

- *stale*: nothing from the source for longer than the freshness target; the breach starts
  when the target ran out (the last reading's time plus the freshness target);
- *incomplete*: fewer readings over the last ``window_min`` full minutes than the
  completeness target of those expected (``metrics x 60 / cadence`` a minute); judged once
  the source has been watched for a whole window; the breach starts at the first tick that
  finds it;
- the breach lasts while either holds; at the first tick where it has lasted longer than
  the allowance (``t - start > allowance``) the watch says ``ALARM`` for the source (a
  :class:`Decision` of category ``quality``), and again at every tick while it holds;
- once the promise is kept again, the watch says so (score 0) at the next ``clear_after``
  ticks: the alert engine clears the alert at the ``clear_after``-th, as it clears any
  alert, so one kept minute between two breaches does not make a second alert.

A source is watched from its first reading on (a source that never sent anything to this
worker is not judged); the case family is not watched (reports come when something
happens). The alert names the owner of the entry in force when it is raised.

>>> from detectors.contract.catalog import Promise
>>> from detectors.contract.places import Location
>>> watch = PromiseWatch()
>>> watch.observe("S1", "water", Location("CB", "D1"), 1.0, 0)
>>> lookup = lambda family, source_id: ("water", Promise(120, 0.0, 60))
>>> [d.score for d in watch.judge(180_000, lookup)]   # stale since 120 s: 60 s, not over
[]
>>> [(d.score, d.category) for d in watch.judge(240_000, lookup)]
[(0.6, 'quality')]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from detectors.alerting.types import Decision
from detectors.contract.alerts import Category
from detectors.contract.catalog import Promise, breaches
from detectors.contract.levels import LEVEL_SCORES, WarningLevel
from detectors.contract.places import Location

MINUTE_MS = 60_000
QUALITY_METRIC = "data_quality"
DETECTOR = "promise"
SCORE = LEVEL_SCORES[WarningLevel.IV]
"""A broken promise is a level IV (blue) alert: it is about data, not about the city."""

Lookup = Callable[[str, str], tuple[str, Promise] | None]
"""(family, source id) -> (owning department, promise) of the entry in force, or None."""


def quality_key(source_id: str) -> str:
    """The alert key of a source's data-quality alert (one per source)."""
    return f"{source_id}:{QUALITY_METRIC}:{Category.QUALITY.value}"


@dataclass(slots=True)
class Watched:
    """What the watch knows of one source."""

    family: str
    location: list[str]
    expected_per_min: float  # readings a minute the source should send
    first_ms: int
    last_ms: int
    counts: dict[str, int] = field(default_factory=dict)  # minute start -> readings
    since_ms: int = 0  # when the current breach began (0: the promise is kept)
    clearing: int = 0  # kept judgements still to say after an alarm


class PromiseWatch:
    """The promise check of the sources one worker sees; plain data, snapshot per source."""

    def __init__(self, window_min: int = 10, clear_after: int = 3) -> None:
        self.window_min = window_min
        self.clear_after = clear_after
        self._sources: dict[str, Watched] = {}
        self._changed: set[str] = set()

    @property
    def sources(self) -> Mapping[str, Watched]:
        return self._sources

    def observe(
        self, source_id: str, family: str, location: Location, expected_per_min: float,
        ts_ms: int,
    ) -> None:  # fmt: skip
        """One reading of the source at ``ts_ms``."""
        seen = self._sources.get(source_id)
        if seen is None:
            seen = Watched(family, list(location.codes()), expected_per_min, ts_ms, ts_ms)
            self._sources[source_id] = seen
        seen.last_ms = max(seen.last_ms, ts_ms)
        minute = str(ts_ms - ts_ms % MINUTE_MS)
        seen.counts[minute] = seen.counts.get(minute, 0) + 1
        self._changed.add(source_id)

    def resume(self, at_ms: int) -> None:
        """The whole input stopped and resumed at ``at_ms`` (see
        :meth:`streams.detection.Detection.process`): a source keeping its promise when it
        stopped is watched afresh from ``at_ms``, as if first seen then, so the feed's
        outage is not every source's breach. One already in breach stays in it."""
        for source_id, seen in self._sources.items():
            if seen.since_ms == 0 and seen.last_ms < at_ms:
                seen.first_ms = seen.last_ms = at_ms
                seen.counts = {}
                self._changed.add(source_id)

    def judge(self, now_ms: int, lookup: Lookup) -> list[Decision]:
        """The decisions of the tick at ``now_ms`` (sources without an entry in force are
        not judged)."""
        decisions = []
        for source_id, seen in self._sources.items():
            found = lookup(seen.family, source_id)
            if found is None:
                continue
            before = (seen.since_ms, seen.clearing, len(seen.counts))
            decision = self._judge_one(source_id, seen, now_ms, *found)
            if (seen.since_ms, seen.clearing, len(seen.counts)) != before:
                self._changed.add(source_id)
            if decision is not None:
                decisions.append(decision)
        return decisions

    def _judge_one(
        self, source_id: str, seen: Watched, now_ms: int, department: str, promise: Promise
    ) -> Decision | None:
        window_start = now_ms - self.window_min * MINUTE_MS
        seen.counts = {m: n for m, n in seen.counts.items() if int(m) >= window_start}
        completeness = self.completeness(seen, now_ms)
        broken = breaches(promise, seen.last_ms, now_ms, completeness)
        if not broken:
            seen.since_ms = 0
            if not seen.clearing:
                return None
            seen.clearing -= 1
            return self._decision(source_id, seen, now_ms, department, promise, (), 0.0)
        stale_from = seen.last_ms + promise.freshness_s * 1000
        start = min(stale_from if "stale" in broken else now_ms, now_ms)
        seen.since_ms = min(seen.since_ms or start, start)
        if now_ms - seen.since_ms <= promise.allowance_s * 1000:
            return None
        seen.clearing = self.clear_after
        return self._decision(source_id, seen, now_ms, department, promise, broken, SCORE)

    def completeness(self, seen: Watched, now_ms: int) -> float | None:
        """Readings received over the window before ``now_ms`` against those expected
        (None: not watched for a whole window yet, or nothing expected)."""
        window_start = now_ms - self.window_min * MINUTE_MS
        if seen.first_ms > window_start or seen.expected_per_min <= 0:
            return None
        received = sum(n for m, n in seen.counts.items() if window_start <= int(m) < now_ms)
        return received / (seen.expected_per_min * self.window_min)

    def _decision(
        self, source_id: str, seen: Watched, now_ms: int, department: str, promise: Promise,
        broken: tuple[str, ...], score: float,
    ) -> Decision:  # fmt: skip
        completeness = self.completeness(seen, now_ms)
        facts = (
            ("family", seen.family), ("department", department),
            ("breaches", ",".join(broken)), ("last_ms", seen.last_ms),
            ("breach_since_ms", seen.since_ms), ("freshness_s", promise.freshness_s),
            ("completeness_pct", promise.completeness_pct), ("allowance_s", promise.allowance_s),
            ("completeness", None if completeness is None else round(completeness, 4)),
        )  # fmt: skip
        broken_s = (now_ms - seen.since_ms) / 1000 if seen.since_ms else 0.0
        return Decision(
            quality_key(source_id), Category.QUALITY.value, source_id, QUALITY_METRIC,
            Location(*seen.location), DETECTOR, score, broken_s, now_ms,
            threshold=float(promise.allowance_s), facts=facts,
        )  # fmt: skip

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, dict[str, Any]]:
        """The sources changed since the last snapshot, as plain data by source id."""
        changed, self._changed = self._changed, set()
        return {s: asdict(self._sources[s]) for s in changed if s in self._sources}

    def restore(self, entries: Iterable[tuple[str, Mapping[str, Any]]]) -> None:
        for source_id, doc in entries:
            self._sources[source_id] = Watched(**doc)
