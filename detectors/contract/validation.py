"""Validation of raw event bytes into readings and case reports, or a dead-letter reason.

Pure: the caller passes the registry of known sources and the current time, so the same
bytes give the same verdict in the worker, in a replay and in a test.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from detectors.contract import wire
from detectors.contract.dead_letter import MAX_EVENT_BYTES
from detectors.contract.events import (
    CASE_CATEGORIES,
    CASE_STEP_STATUSES,
    METRICS,
    SCHEMA_VERSION,
    CaseReport,
    Family,
    Location,
    Reading,
    Source,
)
from detectors.contract.identity import canonical_event_id


class Reason:
    """Dead-letter reasons: short, stable codes that metrics and tables are labelled by."""

    MALFORMED_JSON = wire.MALFORMED_JSON
    NOT_AN_OBJECT = wire.NOT_AN_OBJECT
    MISSING_FIELD = wire.MISSING_FIELD
    WRONG_TYPE = wire.WRONG_TYPE
    BAD_SCHEMA_VERSION = "bad_schema_version"
    BAD_EVENT_ID = "bad_event_id"
    WRONG_FAMILY = wire.WRONG_FAMILY
    UNKNOWN_METRIC = "unknown_metric"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_SOURCE = "unknown_source"
    LOCATION_MISMATCH = "location_mismatch"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_GRID = "unknown_grid"
    CONFLICTING_EVENT_ID = "conflicting_event_id"
    """Set by the worker, not here: an id already stored with other content."""
    OVERSIZED = "oversized"
    """Longer than dead_letter.MAX_EVENT_BYTES: not parsed at all."""

    ALL: tuple[str, ...] = (
        MALFORMED_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_TYPE, BAD_SCHEMA_VERSION,
        BAD_EVENT_ID, WRONG_FAMILY, UNKNOWN_METRIC, OUT_OF_RANGE, UNKNOWN_SOURCE,
        LOCATION_MISMATCH, TIMESTAMP_IN_FUTURE, TIMESTAMP_TOO_OLD, UNKNOWN_CATEGORY,
        UNKNOWN_STATUS, UNKNOWN_GRID, CONFLICTING_EVENT_ID, OVERSIZED,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why an event could not be used: a reason code and a human-readable detail."""

    reason: str
    detail: str


@dataclass(frozen=True, slots=True)
class Registry:
    """Known sources and grid cells, as loaded from the reference tables."""

    sources: Mapping[str, Source]
    grids: Mapping[str, Location]
    names: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    """Area code -> (English, Chinese) name: what alert notices call places."""


@dataclass(frozen=True, slots=True)
class TimeBounds:
    """How far an event time may lie from now: later than this is in the future, earlier is
    too old to be rolled up."""

    now_ms: int
    max_future_ms: int = 5 * 60 * 1000
    max_age_ms: int = 7 * 24 * 3600 * 1000


class _Reject(Exception):
    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.invalid = Invalid(reason, detail)


def validate(
    raw: bytes, family: Family | None, registry: Registry, bounds: TimeBounds
) -> Reading | CaseReport | Invalid:
    """Turn the bytes of one message from ``family``'s topic into an event or a reason.
    ``family=None`` (a merged topic carrying every family, as a replay uses) takes the
    family from the event itself.

    >>> reg = Registry(sources={}, grids={})
    >>> validate(b"{not json", Family.WATER, reg, TimeBounds(now_ms=0)).reason
    'malformed_json'
    >>> validate(b" " * 70_000, Family.WATER, reg, TimeBounds(now_ms=0)).detail
    '70000 bytes, over the 65536-byte limit of an event'
    """
    if len(raw) > MAX_EVENT_BYTES:
        return Invalid(
            Reason.OVERSIZED, f"{len(raw)} bytes, over the {MAX_EVENT_BYTES}-byte limit of an event"
        )
    try:
        family, doc = wire.decode(raw, family)
        if family is Family.CASE:
            return _case(doc, registry, bounds)
        return _reading(doc, family, registry, bounds)
    except wire.WireError as bad:
        return Invalid(bad.reason, bad.detail)
    except _Reject as rejected:
        return rejected.invalid


def _common(doc: dict[str, object], family: Family, bounds: TimeBounds) -> str:
    """Check what every event carries; returns its canonical event id."""
    if doc["schema_version"] != SCHEMA_VERSION:
        raise _Reject(
            Reason.BAD_SCHEMA_VERSION,
            f"schema_version {doc['schema_version']} is not supported (expected {SCHEMA_VERSION})",
        )
    event_id = canonical_event_id(str(doc["event_id"]))
    if event_id is None:
        spelling = str(doc["event_id"])[:64]
        raise _Reject(Reason.BAD_EVENT_ID, f"event_id {spelling!r} is not an ASCII UUID")
    if doc["family"] != family.value:
        raise _Reject(
            Reason.WRONG_FAMILY,
            f"family {str(doc['family'])[:32]!r} sent to the {family.value} topic",
        )
    ts = int(doc["ts"])  # type: ignore[call-overload]
    if ts > bounds.now_ms + bounds.max_future_ms:
        ahead_s = (ts - bounds.now_ms) / 1000
        raise _Reject(Reason.TIMESTAMP_IN_FUTURE, f"ts is {ahead_s:.0f} s in the future")
    if ts < bounds.now_ms - bounds.max_age_ms:
        age_h = (bounds.now_ms - ts) / 3_600_000
        raise _Reject(Reason.TIMESTAMP_TOO_OLD, f"ts is {age_h:.1f} h old")
    return event_id


def _location(doc: dict[str, object]) -> Location:
    return Location(
        city=str(doc["city"]),
        district=str(doc["district"]),
        street=str(doc["street"]),
        grid=str(doc["grid"]),
    )


def _reading(
    doc: dict[str, object], family: Family, registry: Registry, bounds: TimeBounds
) -> Reading:
    event_id = _common(doc, family, bounds)
    metric = str(doc["metric"])
    spec = METRICS.get(metric)
    if spec is None or spec.family is not family:
        raise _Reject(Reason.UNKNOWN_METRIC, f"metric {metric[:32]!r} is not a {family} metric")
    value = float(doc["value"])  # type: ignore[arg-type]
    if not spec.low <= value <= spec.high:  # also rejects NaN
        raise _Reject(
            Reason.OUT_OF_RANGE,
            f"{metric} = {value!r} {spec.unit} outside [{spec.low:g}, {spec.high:g}]",
        )
    source_id = str(doc["source_id"])
    source = registry.sources.get(source_id)
    if source is None or source.family is not family:
        raise _Reject(Reason.UNKNOWN_SOURCE, f"source {source_id[:64]!r} is not registered")
    if metric not in source.metrics:
        raise _Reject(Reason.UNKNOWN_METRIC, f"source {source_id} does not measure {metric}")
    location = _location(doc)
    if location != source.location:
        raise _Reject(
            Reason.LOCATION_MISMATCH,
            f"source {source_id} is registered in {source.location.grid}, event says "
            f"{location.grid[:32]!r}",
        )
    return Reading(
        event_id=event_id,
        ts_ms=int(doc["ts"]),  # type: ignore[call-overload]
        family=family,
        source_id=source_id,
        metric=metric,
        value=value,
        location=source.location,
    )


def _case(doc: dict[str, object], registry: Registry, bounds: TimeBounds) -> CaseReport:
    event_id = _common(doc, Family.CASE, bounds)
    category, status = str(doc["category"]), str(doc["status"])
    if category not in CASE_CATEGORIES:
        raise _Reject(Reason.UNKNOWN_CATEGORY, f"case category {category[:32]!r} is unknown")
    if status not in CASE_STEP_STATUSES:
        raise _Reject(Reason.UNKNOWN_STATUS, f"case status {status[:32]!r} is unknown")
    location = _location(doc)
    registered = registry.grids.get(location.grid)
    if registered is None:
        raise _Reject(Reason.UNKNOWN_GRID, f"grid cell {location.grid[:32]!r} is not registered")
    if registered != location:
        raise _Reject(
            Reason.LOCATION_MISMATCH,
            f"grid cell {location.grid} belongs to {registered.street}, event says "
            f"{location.street[:32]!r}",
        )
    return CaseReport(
        event_id=event_id,
        ts_ms=int(doc["ts"]),  # type: ignore[call-overload]
        case_id=str(doc["case_id"]),
        category=category,
        status=status,
        source_id=str(doc["source_id"]),
        location=registered,
        lon=float(doc["lon"]),  # type: ignore[arg-type]
        lat=float(doc["lat"]),  # type: ignore[arg-type]
        text=str(doc.get("text") or ""),
        photo_ref=str(doc.get("photo_ref") or ""),
    )
