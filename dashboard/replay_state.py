"""What a replay showed at a moment T, computed from its recorded events (pure functions).

An alert is active at T when its 'raised' event is at or before T and no 'cleared' or
'resolved' event for it is at or before T; a later event with a level (an escalation)
changes its level. A district's stage at T is its newest stage change at or before T,
else stage 1. Its charts show the area the viewer may see (:func:`chart_area`) over the
whole replay, from its roll-ups (:func:`family_rates`, :func:`chart_metric`).

>>> events = [
...     ReplayEvent(100, "raised", "a1", level_rank=2, district="D1"),
...     ReplayEvent(200, "escalated", "a1", level_rank=3, district="D1"),
...     ReplayEvent(300, "cleared", "a1", district="D1"),
... ]
>>> [(a.alert_id, a.level_rank) for a in active_at(events, 250)]
[('a1', 3)]
>>> active_at(events, 300)
[]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from dashboard.model import AreaTree, RatePoint, RollupPoint
from dashboard.scope import Scope
from detectors.contract.alerts import ENDING_KINDS, AlertKind
from detectors.contract.city import Area
from detectors.contract.events import METRICS

STEPS = 200
"""A play tick advances the moment by 1/STEPS of the replayed range."""


@dataclass(frozen=True, slots=True)
class ReplayEvent:
    """One row of a replay's alert_events."""

    ts_ms: int
    kind: str
    alert_id: str
    incident_id: str = ""
    level: str = ""
    level_rank: int = 0
    category: str = ""
    district: str = ""
    street: str = ""
    grid: str = ""
    reason: str = ""

    @property
    def subject_id(self) -> str:
        """The alert this event is about (an incident's events carry no alert id)."""
        return self.alert_id or self.incident_id


@dataclass(frozen=True, slots=True)
class ActiveAlert:
    """An alert active at the chosen moment."""

    alert_id: str
    level_rank: int
    category: str
    district: str
    street: str
    grid: str
    since_ms: int
    reason: str

    @property
    def where(self) -> str:
        return self.grid or self.street or self.district


@dataclass(frozen=True, slots=True)
class StagePoint:
    """One row of a replay's stage_changes."""

    level: str
    code: str
    ts_ms: int
    stage: int
    reason: str = ""


def active_at(events: Iterable[ReplayEvent], t_ms: int) -> list[ActiveAlert]:
    """The alerts active at ``t_ms``, gravest and newest first."""
    active: dict[str, ActiveAlert] = {}
    for e in sorted((e for e in events if e.ts_ms <= t_ms), key=lambda e: e.ts_ms):
        key = e.subject_id
        if not key:
            continue
        if e.kind == AlertKind.RAISED:
            active[key] = ActiveAlert(
                key, e.level_rank, e.category, e.district, e.street, e.grid, e.ts_ms, e.reason
            )
        elif e.kind in ENDING_KINDS:
            active.pop(key, None)
        elif key in active and e.level_rank > 0:
            old = active[key]
            active[key] = ActiveAlert(
                key, e.level_rank, old.category, old.district, old.street, old.grid,
                old.since_ms, e.reason or old.reason,
            )  # fmt: skip
    return sorted(active.values(), key=lambda a: (-a.level_rank, -a.since_ms, a.alert_id))


def district_levels(alerts: Iterable[ActiveAlert]) -> dict[str, int]:
    """The highest level rank (1..4) of the active alerts per district."""
    worst: dict[str, int] = {}
    for a in alerts:
        if a.district and a.level_rank:
            worst[a.district] = max(worst.get(a.district, 0), a.level_rank)
    return worst


def stages_at(
    changes: Iterable[StagePoint], codes: Sequence[str], t_ms: int, level: str = "district"
) -> dict[str, StagePoint]:
    """Each code's newest stage change at or before ``t_ms`` (stage 1 when it has none)."""
    newest: dict[str, StagePoint] = {c: StagePoint(level, c, 0, 1) for c in codes}
    for c in changes:
        if c.level != level or c.ts_ms > t_ms:
            continue
        seen = newest.get(c.code)
        if seen is None or seen.ts_ms == 0 or c.ts_ms >= seen.ts_ms:
            newest[c.code] = c
    return newest


def step_ms(from_ms: int, to_ms: int) -> int:
    """How far one play tick advances the moment."""
    return max(1, (to_ms - from_ms) // STEPS)


def advance(value: int | None, from_ms: int, to_ms: int) -> tuple[int, bool]:
    """(next moment, reached the end) for one play tick."""
    current = from_ms if value is None else min(max(int(value), from_ms), to_ms)
    following = min(current + step_ms(from_ms, to_ms), to_ms)
    return following, following >= to_ms


def chart_area(tree: AreaTree, scope: Scope) -> Area | None:
    """The area the replay's charts show: the city for a city-wide viewer, else the
    viewer's district (None when the replay has no such area)."""
    level, code = ("city", "") if scope.city_wide else ("district", scope.district)
    return next((a for a in tree.areas if a.level == level and code in ("", a.code)), None)


def family_rates(
    points: Iterable[RollupPoint],
) -> tuple[list[RatePoint], dict[str, list[RatePoint]]]:
    """Events per minute of the area, in all and per family, oldest minute first.

    >>> from datetime import UTC, datetime
    >>> m0, m1 = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    >>> total, families = family_rates([RollupPoint(m0, "water", "rainfall", 3, 0, 0, 0),
    ...     RollupPoint(m0, "water", "water_level", 2, 0, 0, 0),
    ...     RollupPoint(m1, "power", "load", 4, 0, 0, 0)])
    >>> [p.count for p in total], {f: [p.count for p in s] for f, s in families.items()}
    ([5, 4], {'power': [4], 'water': [5]})
    """
    total: Counter[datetime] = Counter()
    by_family: dict[str, Counter[datetime]] = {}
    for p in points:
        total[p.window_start] += p.count
        by_family.setdefault(p.family, Counter())[p.window_start] += p.count
    return _rates(total), {family: _rates(c) for family, c in sorted(by_family.items())}


def _rates(counts: Counter[datetime]) -> list[RatePoint]:
    return [RatePoint(minute, n) for minute, n in sorted(counts.items())]


def chart_metric(
    points: Iterable[RollupPoint], wanted: str | None, default: str
) -> tuple[str, list[str]]:
    """(the metric to chart, every metric the roll-ups have in the order of the metric
    catalogue): ``wanted`` when the replay has it, else ``default``, else its first."""
    order = {m: i for i, m in enumerate(METRICS)}
    found = sorted({p.metric for p in points}, key=lambda m: (order.get(m, len(order)), m))
    for choice in (wanted, default):
        if choice in found:
            return str(choice), found
    return (found[0] if found else ""), found
