"""Alerts of a replay as spans, two replays' alerts matched, and lead times: pure.

An alert's span runs from its ``raised`` event to its ``cleared`` event (or the end of the
range). Two alerts match when they have the same key and their spans overlap; each alert
matches at most one, earliest first.

>>> where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
>>> a = AlertSpan("a1", "S1:pm25:condition", "condition", 2, 2, 0, 600_000, where)
>>> b = AlertSpan("b1", "S1:pm25:condition", "condition", 3, 3, 300_000, None, where)
>>> d = diff([a], [b], horizon_ms=3_600_000)
>>> len(d.both), d.only_a, d.only_b
(1, [], [])
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from detectors.contract.alerts import AlertKind, Category
from detectors.contract.events import Location
from detectors.contract.tables import ALERT_EVENTS
from detectors.scoring.limits import default_bands

LIMIT_DETECTORS = ("static", "rainstorm")


@dataclass(frozen=True, slots=True)
class AlertSpan:
    """One alert from raised to cleared, at the gravest level it reached (1 = IV .. 4 = I)."""

    alert_id: str
    key: str
    category: str
    level: int
    raised_level: int
    opened_ms: int
    closed_ms: int | None
    location: Location
    evidence: Mapping[str, Any] = field(default_factory=dict)
    limit_ms: int | None = None  # first time its evidence came from a limit rule

    def end_ms(self, horizon_ms: int) -> int:
        return self.closed_ms if self.closed_ms is not None else max(horizon_ms, self.opened_ms)

    @property
    def detector(self) -> str:
        return str(self.evidence.get("detector") or "")


ALERT_COLUMNS = ALERT_EVENTS.select_list(
    "kind", "ts_ms", "alert_id", "key", "category", "level_rank", "city", "district", "street",
    "grid", "evidence",
)  # fmt: skip


def spans_of(rows: Iterable[Sequence[Any]]) -> list[AlertSpan]:
    """Alert spans from alert_events rows (ALERT_COLUMNS order, time order); events of an
    incident as a whole (no alert id) are left out."""
    events: dict[str, list[Sequence[Any]]] = defaultdict(list)
    for row in rows:
        if row[2]:
            events[str(row[2])].append(row)
    spans = [_span(alert_id, found) for alert_id, found in events.items()]
    return sorted(spans, key=lambda s: (s.opened_ms, s.key, s.alert_id))


def _span(alert_id: str, rows: list[Sequence[Any]]) -> AlertSpan:
    raised = next((r for r in rows if r[0] == AlertKind.RAISED), rows[0])
    cleared = next((int(r[1]) for r in rows if r[0] == AlertKind.CLEARED), None)
    kind, ts_ms, _id, key, category, rank, city, district, street, grid, evidence = raised
    limit_ms = next(
        (int(r[1]) for r in rows if _evidence(r[10]).get("detector") in LIMIT_DETECTORS), None
    )
    return AlertSpan(
        alert_id=alert_id, key=str(key), category=str(category),
        level=max(int(r[5]) for r in rows), raised_level=int(rank), opened_ms=int(ts_ms),
        closed_ms=cleared, location=Location(city, district, street, grid),
        evidence=_evidence(evidence), limit_ms=limit_ms,
    )  # fmt: skip


def _evidence(text: Any) -> dict[str, Any]:
    if isinstance(text, Mapping):
        return dict(text)
    try:
        doc = orjson.loads(text or b"{}")
    except orjson.JSONDecodeError:
        return {}
    return doc if isinstance(doc, dict) else {}


@dataclass
class Diff:
    """Alerts raised only under A, only under B, and under both (paired)."""

    only_a: list[AlertSpan]
    only_b: list[AlertSpan]
    both: list[tuple[AlertSpan, AlertSpan]]


def overlap(a: AlertSpan, b: AlertSpan, horizon_ms: int) -> bool:
    return a.opened_ms <= b.end_ms(horizon_ms) and b.opened_ms <= a.end_ms(horizon_ms)


def diff(a: Sequence[AlertSpan], b: Sequence[AlertSpan], horizon_ms: int) -> Diff:
    """Match A's alerts to B's by key and overlapping spans; ``horizon_ms`` ends alerts
    still active at the end of the range."""
    result = Diff([], [], [])
    b_by_key: dict[str, list[AlertSpan]] = defaultdict(list)
    for span in sorted(b, key=lambda s: s.opened_ms):
        b_by_key[span.key].append(span)
    for span in sorted(a, key=lambda s: s.opened_ms):
        candidates = b_by_key[span.key]
        partner = next((c for c in candidates if overlap(span, c, horizon_ms)), None)
        if partner is None:
            result.only_a.append(span)
        else:
            candidates.remove(partner)
            result.both.append((span, partner))
    result.only_b = sorted((s for left in b_by_key.values() for s in left),
                           key=lambda s: (s.opened_ms, s.key))  # fmt: skip
    return result


@dataclass(frozen=True, slots=True)
class Lead:
    """How long before the static limit an alert came: ``basis`` says how it was found:
    ``limit`` (when a limit rule raised the alert, or later took it over: its evidence
    then names a limit detector), ``crossing`` (the first reading beyond the threshold in
    the evidence), ``forecast`` (the forecast crossing time: no reading crossed),
    ``never`` (a threshold no reading crossed, nothing forecast) or ``none`` (no limit
    fired and the evidence has no threshold)."""

    ms: int | None
    basis: str

    def text(self) -> str:
        """
        >>> Lead(1_500_000, "crossing").text(), Lead(None, "never").text()
        ('25 min (crossing)', 'limit not reached')
        """
        if self.ms is None:
            return {"never": "limit not reached", "none": "-"}.get(self.basis, "-")
        return f"{self.ms / 60_000:.0f} min ({self.basis})"


def threshold_of(
    span: AlertSpan, site_limits: Mapping[str, float] | None = None
) -> tuple[float, bool] | None:
    """(threshold, upward) an alert's series must cross for the static limit: the one in
    its evidence, else the standard's level IV limit of its metric (with the site's own
    references, e.g. a gauge's warning level). Upward when the value lies below it."""
    threshold, value = _number(span.evidence.get("threshold")), _number(span.evidence.get("value"))
    if threshold is not None:
        return threshold, value is None or value <= threshold
    bands = default_bands(str(span.evidence.get("metric", "")), site_limits or {})
    if not bands:
        return None
    band = min(bands, key=lambda b: b.level)
    side = band.threshold(value) if value is not None else band.high
    if side is None:
        side = band.low
    return (float(side), side == band.high) if side is not None else None


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) and not isinstance(x, bool) else None


def lead_of(
    span: AlertSpan, crossing_ms: int | None, site_limits: Mapping[str, float] | None = None
) -> Lead:
    """The lead of ``span`` given when a reading of its series first crossed its threshold
    (:func:`threshold_of`) at or after it was raised (None: never in the range). A sensor
    fault warns of no limit: it has no lead."""
    if span.category == Category.FAULT:
        return Lead(None, "none")
    if span.limit_ms is not None:
        return Lead(max(0, span.limit_ms - span.opened_ms), "limit")
    if span.detector in LIMIT_DETECTORS:
        return Lead(0, "limit")
    if threshold_of(span, site_limits) is None:
        return Lead(None, "none")
    if crossing_ms is not None:
        return Lead(max(0, crossing_ms - span.opened_ms), "crossing")
    forecast = span.evidence.get("forecast_ts_ms")
    if isinstance(forecast, int) and not isinstance(forecast, bool):
        return Lead(max(0, forecast - span.opened_ms), "forecast")
    return Lead(None, "never")
