"""Validation of raw event bytes into readings and case reports, or a dead-letter reason.

Pure: the caller passes the registry of known sources and the current time, so the same
bytes give the same verdict in the worker, in a replay and in a test.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass

import orjson

from detectors.contract.events import (
    CASE_CATEGORIES,
    CASE_STATUSES,
    METRICS,
    SCHEMA_VERSION,
    CaseReport,
    Family,
    Location,
    Reading,
    Source,
)


class Reason:
    """Dead-letter reasons: short, stable codes that metrics and tables are labelled by."""

    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    BAD_SCHEMA_VERSION = "bad_schema_version"
    BAD_EVENT_ID = "bad_event_id"
    WRONG_FAMILY = "wrong_family"
    UNKNOWN_METRIC = "unknown_metric"
    OUT_OF_RANGE = "out_of_range"
    UNKNOWN_SOURCE = "unknown_source"
    LOCATION_MISMATCH = "location_mismatch"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    UNKNOWN_CATEGORY = "unknown_category"
    UNKNOWN_STATUS = "unknown_status"
    UNKNOWN_GRID = "unknown_grid"

    ALL: tuple[str, ...] = (
        MALFORMED_JSON, NOT_AN_OBJECT, MISSING_FIELD, WRONG_TYPE, BAD_SCHEMA_VERSION,
        BAD_EVENT_ID, WRONG_FAMILY, UNKNOWN_METRIC, OUT_OF_RANGE, UNKNOWN_SOURCE,
        LOCATION_MISMATCH, TIMESTAMP_IN_FUTURE, TIMESTAMP_TOO_OLD, UNKNOWN_CATEGORY,
        UNKNOWN_STATUS, UNKNOWN_GRID,
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


_READING_FIELDS: dict[str, type | tuple[type, ...]] = {
    "event_id": str,
    "schema_version": int,
    "ts": int,
    "family": str,
    "source_id": str,
    "metric": str,
    "value": (int, float),
    "city": str,
    "district": str,
    "street": str,
    "grid": str,
}

_CASE_FIELDS: dict[str, type | tuple[type, ...]] = {
    "event_id": str,
    "schema_version": int,
    "ts": int,
    "family": str,
    "source_id": str,
    "case_id": str,
    "category": str,
    "status": str,
    "city": str,
    "district": str,
    "street": str,
    "grid": str,
    "lon": (int, float),
    "lat": (int, float),
}


def validate(
    raw: bytes, family: Family | None, registry: Registry, bounds: TimeBounds
) -> Reading | CaseReport | Invalid:
    """Turn the bytes of one message from ``family``'s topic into an event or a reason.
    ``family=None`` (a merged topic carrying every family, as a replay uses) takes the
    family from the event itself.

    >>> reg = Registry(sources={}, grids={})
    >>> validate(b"{not json", Family.WATER, reg, TimeBounds(now_ms=0)).reason
    'malformed_json'
    """
    try:
        doc = _decode(raw)
        if family is None:
            family = _declared_family(doc)
        if family is Family.CASE:
            return _case(doc, registry, bounds)
        return _reading(doc, family, registry, bounds)
    except _Reject as rejected:
        return rejected.invalid


def _decode(raw: bytes) -> dict[str, object]:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise _Reject(Reason.MALFORMED_JSON, str(exc)[:200]) from None
    if not isinstance(doc, dict):
        raise _Reject(Reason.NOT_AN_OBJECT, f"expected a JSON object, got {type(doc).__name__}")
    return doc


def _declared_family(doc: dict[str, object]) -> Family:
    declared = doc.get("family")
    if declared is None:
        raise _Reject(Reason.MISSING_FIELD, "field 'family' is missing")
    if not isinstance(declared, str) or declared not in Family._value2member_map_:
        raise _Reject(Reason.WRONG_FAMILY, f"family {str(declared)[:32]!r} is unknown")
    return Family(declared)


def _check_fields(doc: dict[str, object], fields: dict[str, type | tuple[type, ...]]) -> None:
    for name, expected in fields.items():
        if name not in doc or doc[name] is None:
            raise _Reject(Reason.MISSING_FIELD, f"field {name!r} is missing")
        value = doc[name]
        # bool is an int subclass; a flag sent as true/false is still a wrong type.
        if isinstance(value, bool) or not isinstance(value, expected):
            raise _Reject(
                Reason.WRONG_TYPE,
                f"field {name!r} has type {type(value).__name__}, expected {_type_name(expected)}",
            )


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return "number"
    return {str: "string", int: "integer"}.get(expected, expected.__name__)


def _common(doc: dict[str, object], family: Family, bounds: TimeBounds) -> None:
    if doc["schema_version"] != SCHEMA_VERSION:
        raise _Reject(
            Reason.BAD_SCHEMA_VERSION,
            f"schema_version {doc['schema_version']} is not supported (expected {SCHEMA_VERSION})",
        )
    event_id = str(doc["event_id"])
    try:
        uuid.UUID(event_id)
    except ValueError:
        raise _Reject(Reason.BAD_EVENT_ID, f"event_id {event_id[:64]!r} is not a UUID") from None
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
    _check_fields(doc, _READING_FIELDS)
    _common(doc, family, bounds)
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
        event_id=str(doc["event_id"]),
        ts_ms=int(doc["ts"]),  # type: ignore[call-overload]
        family=family,
        source_id=source_id,
        metric=metric,
        value=value,
        location=source.location,
    )


def _case(doc: dict[str, object], registry: Registry, bounds: TimeBounds) -> CaseReport:
    _check_fields(doc, _CASE_FIELDS)
    _common(doc, Family.CASE, bounds)
    category, status = str(doc["category"]), str(doc["status"])
    if category not in CASE_CATEGORIES:
        raise _Reject(Reason.UNKNOWN_CATEGORY, f"case category {category[:32]!r} is unknown")
    if status not in CASE_STATUSES:
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
        event_id=str(doc["event_id"]),
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
