"""What the queries answer: plain frozen records, free of SQL and Dash.

The overview's records (CityShapes, DistrictRollup, RatePoint, DeadLetterCounts) come
first; then the city tree, alerts, stages, sensors, cases and data quality.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property
from typing import Any

from detectors.alerting.explain import Explanation, explain, facts_of
from detectors.contract.alerts import ACTIVE_STATUSES as ACTIVE_STATUSES
from detectors.contract.alerts import AlertStatus
from detectors.contract.case_limits import is_overdue
from detectors.contract.cases import case_department
from detectors.contract.city import Area
from detectors.contract.indicators import Indicator, Score
from detectors.contract.levels import ALARMING, WarningLevel
from detectors.contract.places import AreaLevel, Location

ALERT_STATUSES: tuple[AlertStatus, ...] = tuple(AlertStatus)


class QueryError(RuntimeError):
    """The data source did not answer a query; the page shows it instead of crashing."""


class NotFound(LookupError):
    """An area, sensor, case or alert that does not exist (or, for sensors, cases and
    alerts, is not in the viewer's scope): ``kind`` and ``code`` name it."""

    def __init__(self, kind: str, code: str) -> None:
        self.kind, self.code = kind, code
        super().__init__(f"no {kind} {code}".strip())


@dataclass(frozen=True, slots=True)
class CityShapes:
    """The city outline and its districts' geometry, for the map."""

    city: Area | None
    districts: tuple[Area, ...]


@dataclass(frozen=True, slots=True)
class DistrictRollup:
    """One district's newest 1-minute roll-up of one metric, summed over source partitions."""

    district: str
    metric: str
    window_start: datetime
    count: int
    mean: float
    minimum: float
    maximum: float


@dataclass(frozen=True, slots=True)
class RatePoint:
    """How many valid events an area produced in one minute (event time)."""

    window_start: datetime
    count: int

    @property
    def per_second(self) -> float:
        return self.count / 60.0


@dataclass(frozen=True, slots=True)
class RollupPoint:
    """One metric of an area in one minute (rollups_1m summed over source partitions)."""

    window_start: datetime
    family: str
    metric: str
    count: int
    total: float
    minimum: float
    maximum: float

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else float("nan")


@dataclass(frozen=True, slots=True)
class DeadLetterCounts:
    """Messages that could not be used: the total and the count per reason, largest first."""

    total: int
    by_reason: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class AreaTree:
    """The areas a viewer may see (city -> district -> street -> grid cell), by code."""

    areas: tuple[Area, ...]
    _index: dict[str, Area] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {a.code: a for a in self.areas})

    def get(self, code: str) -> Area | None:
        return self._index.get(code)

    def of_level(self, level: str) -> tuple[Area, ...]:
        return tuple(a for a in self.areas if a.level == level)

    def children(self, code: str) -> tuple[Area, ...]:
        return tuple(a for a in self.areas if a.parent == code)

    def ancestors(self, code: str) -> tuple[Area, ...]:
        """The chain from the city down to the area itself."""
        chain: list[Area] = []
        area = self.get(code)
        while area is not None and len(chain) < 8:
            chain.insert(0, area)
            area = self.get(area.parent) if area.parent else None
        return tuple(chain)

    def names(self, lang: str) -> dict[str, str]:
        """Each area's name in ``lang`` ('zh' or 'en'), by code: what sentences say."""
        return {a.code: (a.name_zh if lang == "zh" else a.name) or a.name for a in self.areas}

    def district_of(self, code: str) -> str:
        """The district an area lies in ('' for the city)."""
        return next((a.code for a in self.ancestors(code) if a.level == AreaLevel.DISTRICT), "")

    def descendants(self, code: str, level: str) -> tuple[Area, ...]:
        """Every area of ``level`` under ``code`` (or the area itself if it is that level)."""
        return tuple(
            a for a in self.of_level(level) if any(u.code == code for u in self.ancestors(a.code))
        )


@dataclass(frozen=True, slots=True)
class AlertRow:
    """The current state of one alert or incident (alerts_current, FINAL)."""

    alert_id: str
    subject: str
    incident_id: str
    key: str
    category: str
    level: WarningLevel | None
    tier: str
    status: str
    opened_ms: int
    updated_ms: int
    version: int
    acknowledged_by: str
    assignee: str
    reason: str
    place: Location
    scope: str
    source_id: str
    metric: str
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def alarming(self) -> bool:
        """An orange or red alert nobody has acknowledged yet: sound and highlight (not
        when a silence muted it)."""
        unacknowledged = self.status == AlertStatus.ACTIVE and not self.silenced
        return unacknowledged and self.level is not None and self.level >= ALARMING

    @property
    def silenced(self) -> bool:
        """A silence muted it (the worker marks the evidence with the silence's id)."""
        return bool(self.evidence.get("silence_id"))

    def explanation(self, lang: str, names: Mapping[str, str] | None = None) -> Explanation:
        """What this alert or incident is, in ``lang``, with area names from ``names``
        (code -> name), in UTC as the rest of the dashboard."""
        evidence = {"metric": self.metric, **self.evidence}
        facts = facts_of(self.category, self.place, self.scope, self.opened_ms, evidence)
        return explain(facts, lang, names or {}, UTC)


@dataclass(frozen=True, slots=True)
class AlertEventRow:
    """One line of an alert's audit trail (alert_events)."""

    event_id: str
    ts_ms: int
    kind: str
    alert_id: str
    incident_id: str
    level: str
    tier: str
    reason: str
    actor: str
    comment: str


@dataclass(frozen=True, slots=True)
class StageChange:
    """An area's operational stage changed (stage_changes, written by the worker)."""

    level: str
    code: str
    ts_ms: int
    stage: int
    previous: int
    reason: str


@dataclass(frozen=True, slots=True)
class SensorCell:
    """The sensors of one grid cell, counted on the server: the map draws cells, not
    10,000 points."""

    grid: str
    lon: float
    lat: float
    sensors: int
    by_family: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """A registered source: what it measures and where it sits."""

    source_id: str
    family: str
    kind: str
    metrics: tuple[str, ...]
    place: Location
    lon: float
    lat: float
    cadence_s: int


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One raw reading of a sensor's metric."""

    metric: str
    ts_ms: int
    value: float


@dataclass(frozen=True, slots=True)
class CaseRow:
    """A grid-management case: its category, where, and when it reached each step."""

    case_id: str
    category: str
    place: Location
    steps: dict[str, int]
    last_status: str
    last_ms: int
    text: str = ""
    dispatched: str = ""  # the department it was last dispatched to ('' = not yet)

    @property
    def department(self) -> str:
        """The department the case belongs to: dispatched to, else its category's."""
        return case_department(self.category, self.dispatched)


@dataclass(frozen=True, slots=True)
class CaseStepRow:
    """One action applied to a case (``case_steps``): who did what, and when."""

    ts_ms: int
    action: str
    status: str
    department: str
    score: int
    actor: str
    role: str
    comment: str


@dataclass(frozen=True)
class CaseList:
    """Cases of a scope and the newest case event time (the clock their limits run on)."""

    now_ms: int
    cases: tuple[CaseRow, ...]

    @cached_property
    def overdue(self) -> frozenset[str]:
        """The ids of the cases past a step's limit at ``now_ms``: judged once per list
        (one list of thousands of cases serves a scope's tier pages and case lists)."""
        return frozenset(
            c.case_id for c in self.cases if is_overdue(c.category, c.steps, self.now_ms)
        )


@dataclass(frozen=True, slots=True)
class QualityRow:
    """Data quality of one source family in one district."""

    family: str
    district: str
    sources: int
    expected_per_min: float
    received_per_min: float
    last_ms: int
    valid_1h: int
    dead_1h: int

    @property
    def completeness(self) -> float | None:
        if self.expected_per_min <= 0:
            return None
        return self.received_per_min / self.expected_per_min

    @property
    def dead_letter_rate(self) -> float | None:
        total = self.valid_1h + self.dead_1h
        return self.dead_1h / total if total else None


def parse_evidence(text: str) -> dict[str, Any]:
    """An alert's evidence from its JSON text; empty when it is not an object."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def level_of(roman: str) -> WarningLevel | None:
    """A level from its roman numeral as stored ('I'..'IV'), None for ''."""
    try:
        return WarningLevel[roman] if roman else None
    except KeyError:
        return None


@dataclass(frozen=True, slots=True)
class SilenceRow:
    """The latest state of one silence or maintenance window (``silences``, its highest
    version): what it covers, when, why and who made and last changed it."""

    silence_id: str
    status: str  # a SilenceStatus: active, expired or deleted
    changed_ms: int
    scope: str  # a SilenceScope
    value: str
    family: str
    metric: str
    district: str
    start_ms: int
    end_ms: int
    reason: str
    author: str
    created_ms: int
    actor: str  # who made the latest change ('' when its end passed)

    def state(self, now_ms: int) -> str:
        """What an operator needs to know now: ``pending`` (not started), ``active``,
        ``expired`` (ended, early or on time) or ``deleted``."""
        if self.status != "active":
            return self.status
        if now_ms >= self.end_ms:
            return "expired"
        return "pending" if now_ms < self.start_ms else "active"


def silence_of_alert(alert: AlertRow) -> str:
    """The id of the silence that muted an alert ('' when none): the worker stores it in
    the alert's evidence."""
    return str(alert.evidence.get("silence_id") or "")


@dataclass(frozen=True, slots=True)
class DrillRow:
    """A demo drill the simulator plays on live sensors (``drills``): what, where, when."""

    drill_id: str
    kind: str
    title: str
    title_zh: str
    area_name: str
    area_name_zh: str
    place: Location
    start_ms: int
    end_ms: int
    metrics: tuple[str, ...] = ()

    GRACE_MS = 30 * 60_000
    """An alert opened this long after the drill ended still belongs to it (the alert
    engine keeps a quiet incident open as long)."""

    def covers(self, alert: AlertRow) -> bool:
        """Whether ``alert`` (or incident) is this drill's: opened in its street while it
        ran or shortly after, on a metric it bends (an incident names no metric)."""
        when = self.start_ms <= alert.opened_ms < self.end_ms + self.GRACE_MS
        metric = not (alert.metric and self.metrics) or alert.metric in self.metrics
        where = bool(self.place.street) and alert.place.street == self.place.street
        return when and where and metric


def drill_alert_ids(drills: list[DrillRow], alerts: list[AlertRow]) -> frozenset[str]:
    """The ids of the alerts and incidents that some drill of ``drills`` raised."""
    return frozenset(a.alert_id for a in alerts if any(d.covers(a) for d in drills))


Trend = dict[Indicator, tuple[list[int], list[float | None]]]
"""Scores over time per indicator, as columns: window starts (epoch ms) and scores (None:
not judged), oldest first; thousands of points per refresh, kept as the chart takes them."""


def trend_of(points: Iterable[tuple[str, int, float | None]]) -> Trend:
    """A trend from (indicator, epoch s, score) in time order.

    >>> trend_of([("data", 60, 80.0), ("data", 120, None)])
    {<Indicator.DATA: 'data'>: ([60000, 120000], [80.0, None])}
    """
    found: dict[str, tuple[list[int], list[float | None]]] = {}
    for indicator, at, score in points:
        times, scores = found.setdefault(indicator, ([], []))
        times.append(at * 1000)
        scores.append(score)
    return {Indicator(i): columns for i, columns in found.items()}


@dataclass(frozen=True, slots=True)
class Scorecard:
    """An area's five indicators (detectors.contract.indicators): ``minute`` (epoch s, 0 =
    none yet) is its latest complete minute (the newest with all five written); ``now``
    its scores then, ``children`` those of the areas one tier below, ``worst`` its judged
    grid cells lowest first per indicator, ``day`` its minutes over 24 h before ``minute``
    and ``month`` its hours over the 30 days to its newest hour."""

    minute: int
    now: tuple[Score, ...] = ()
    children: tuple[Score, ...] = ()
    worst: tuple[Score, ...] = ()
    day: Trend = field(default_factory=dict)
    month: Trend = field(default_factory=dict)
