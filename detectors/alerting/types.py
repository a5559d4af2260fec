"""The alert engine's inputs and outputs: decisions in, plain event records out.

Ids are uuid5 of what identifies the thing (an alert's key and start time, an incident's
first alert), so replaying the same decisions gives the same ids.

>>> alert_id("WAT-0001:water_level:condition", 1_000)
'91d248f7-361e-5ba4-b7f1-3d74dc1826ce'
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from detectors.alerting.incidents import Incident
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location

NAMESPACE = uuid.UUID("6f1c2a2e-3d4b-5c6d-8e9f-0a1b2c3d4e5f")


@dataclass(frozen=True, slots=True)
class Decision:
    """One detector verdict for one key at one time: what the engine consumes."""

    key: str  # one active alert per key, e.g. "ENV-0003:pm25:condition"
    category: str  # a Category: condition, area or fault
    source_id: str
    metric: str
    location: Location
    detector: str
    score: float
    value: float
    ts_ms: int
    threshold: float | None = None
    forecast_ts_ms: int | None = None
    expected: float | None = None
    z: float | None = None  # how many scales from the expected value, when a detector says
    facts: tuple[tuple[str, Any], ...] = ()  # more evidence (a data promise: its owner, ...)

    def evidence(self) -> dict[str, Any]:
        """What an operator sees as the reason."""
        return {
            **{str(name): value for name, value in self.facts},
            "source_id": self.source_id,
            "metric": self.metric,
            "detector": self.detector,
            "value": self.value,
            "score": round(self.score, 4),
            "threshold": self.threshold,
            "forecast_ts_ms": self.forecast_ts_ms,
            "expected": self.expected,
            "z": self.z,
            "ts_ms": self.ts_ms,
        }


def decision_of(doc: Mapping[str, Any]) -> Decision:
    """A decision from its plain fields, as ``asdict`` and JSON leave them."""
    fields = {k: v for k, v in doc.items() if k not in ("type", "after", "seq")}
    fields["location"] = Location(**fields["location"])
    fields["facts"] = tuple((str(name), value) for name, value in fields.get("facts") or ())
    return Decision(**fields)


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """An alert or incident state change, as the worker stores and sends it."""

    event_id: str
    kind: str  # an AlertKind
    ts_ms: int
    alert_id: str  # "" for events of an incident as a whole
    incident_id: str  # "" for an alert in no incident (a sensor fault)
    key: str
    category: str
    level: WarningLevel
    tier: str
    notify: bool  # False when a parent incident speaks for it (inhibited)
    reason: str
    location: Location
    scope: str = ""  # an incident's extent: grid, street, district or city
    evidence: dict[str, Any] = field(default_factory=dict)
    silence_id: str = ""  # the silence that mutes the alert ('' = none)
    opened_ms: int = 0  # when the alert or incident began (0: unknown)

    def record(self) -> dict[str, Any]:
        """Plain, JSON-able fields."""
        return {
            "event_id": self.event_id,
            "kind": self.kind,
            "ts": self.ts_ms,
            "alert_id": self.alert_id,
            "incident_id": self.incident_id,
            "key": self.key,
            "category": self.category,
            "level": self.level.roman,
            "colour": self.level.colour,
            "tier": self.tier,
            "notify": self.notify,
            "reason": self.reason,
            "city": self.location.city,
            "district": self.location.district,
            "street": self.location.street,
            "grid": self.location.grid,
            "scope": self.scope,
            "evidence": dict(self.evidence),
            "silence_id": self.silence_id,
            "opened": self.opened_ms,
        }


@dataclass(slots=True)
class Alert:
    """An active alert."""

    alert_id: str
    key: str
    category: str
    metric: str
    location: list[str]
    opened_ms: int
    last_ms: int
    level: int
    tier: str
    tier_since_ms: int
    evidence: dict[str, Any]
    incident_id: str = ""
    acked: bool = False
    below: int = 0
    lower: int = 0
    seq: int = 0
    silence_id: str = ""  # the silence muting it: no notification, escalation or stage

    def dump(self) -> dict[str, Any]:
        """Plain fields for the snapshot, taken every batch: copies of the two containers
        (flat ones), not :func:`dataclasses.asdict`'s deep copy of everything."""
        fields = {name: getattr(self, name) for name in ALERT_FIELDS}
        return {**fields, "location": list(self.location), "evidence": dict(self.evidence)}


ALERT_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Alert))


def alert_id(key: str, opened_ms: int) -> str:
    return str(uuid.uuid5(NAMESPACE, f"alert|{key}|{opened_ms}"))


def incident_id(first_alert_id: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"incident|{first_alert_id}"))


def event_id(subject_id: str, seq: int) -> str:
    """The id of the ``seq``-th event about an alert or incident."""
    return str(uuid.uuid5(NAMESPACE, f"event|{subject_id}|{seq}"))


# -- events ----------------------------------------------------------------------------


def alert_event(
    incidents: Mapping[str, Incident],
    alert: Alert,
    kind: AlertKind,
    ts_ms: int,
    reason: str,
    notify: bool = True,
) -> AlertEvent:
    """An event about ``alert``; its parent incident (if open) or its silence inhibits
    notification."""
    alert.seq += 1
    incident = incidents.get(alert.incident_id)
    return AlertEvent(
        event_id=event_id(alert.alert_id, alert.seq),
        kind=kind,
        ts_ms=ts_ms,
        alert_id=alert.alert_id,
        incident_id=alert.incident_id,
        key=alert.key,
        category=alert.category,
        level=WarningLevel(alert.level),
        tier=incident.tier if incident is not None else alert.tier,
        # a parent incident inhibits its children; a silence mutes the alert
        notify=notify and incident is None and not alert.silence_id,
        reason=reason,
        location=Location(*alert.location),
        evidence=dict(alert.evidence),
        silence_id=alert.silence_id,
        opened_ms=alert.opened_ms,
    )


def incident_event(
    incident: Incident, kind: AlertKind, ts_ms: int, reason: str, notify: bool = True
) -> AlertEvent:
    """An event about an incident as a whole."""
    incident.seq += 1
    return AlertEvent(
        event_id=event_id(incident.incident_id, incident.seq),
        kind=kind,
        ts_ms=ts_ms,
        alert_id="",
        incident_id=incident.incident_id,
        key="",
        category=Category.INCIDENT,
        level=WarningLevel(incident.level),
        tier=incident.tier,
        notify=notify,
        reason=reason,
        location=incident.where,
        scope=incident.scope,
        evidence={"alerts": len(incident.alerts), "metrics": list(incident.metrics)},
        opened_ms=incident.opened_ms,
    )


def with_lead(event: AlertEvent, active: Iterable[Alert]) -> AlertEvent:
    """An incident's event with the evidence of its gravest active alert (the earliest of
    equals) as ``lead``, so that it can say how far things are from normal; any other
    event as it is."""
    if event.alert_id or not event.incident_id:
        return event
    members = [a for a in active if a.incident_id == event.incident_id]
    if not members:
        return event
    gravest = max(members, key=lambda a: (a.level, -a.opened_ms))
    lead = {**gravest.evidence, "category": gravest.category, "level": gravest.level}
    return replace(event, evidence={**event.evidence, "lead": lead})
