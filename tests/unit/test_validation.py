"""Validation: every kind of bad input gets its own reason; good input passes unchanged."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import pytest

from detectors.contract.events import CaseReport, Family, Location, Reading, Source
from detectors.contract.validation import Invalid, Reason, Registry, TimeBounds, validate

NOW = 1_764_115_200_000
LOC = Location("CB", "D1", "D1-S1", "D1-S1-G01")
REGISTRY = Registry(
    sources={
        "WAT-0001": Source("WAT-0001", Family.WATER, "river_gauge",
                           frozenset({"water_level"}), LOC, 120.1, 30.2, 60),
    },
    grids={LOC.grid: LOC},
)  # fmt: skip
BOUNDS = TimeBounds(now_ms=NOW)


def reading(**changes: Any) -> dict[str, Any]:
    doc = {
        "event_id": str(uuid.UUID(int=7)), "schema_version": 1, "ts": NOW - 1000,
        "family": "water", "source_id": "WAT-0001", "metric": "water_level", "value": 2.5,
        "city": "CB", "district": "D1", "street": "D1-S1", "grid": "D1-S1-G01",
    }  # fmt: skip
    doc.update(changes)
    return {k: v for k, v in doc.items() if v is not ...}


def case(**changes: Any) -> dict[str, Any]:
    doc = {
        "event_id": str(uuid.UUID(int=8)), "schema_version": 1, "ts": NOW, "family": "case",
        "source_id": "GW-0001", "case_id": "CASE-1", "category": "garbage", "status": "filed",
        "city": "CB", "district": "D1", "street": "D1-S1", "grid": "D1-S1-G01",
        "lon": 120.1, "lat": 30.2, "text": "overflowing bin",
    }  # fmt: skip
    doc.update(changes)
    return doc


def check(doc: Any, family: Family = Family.WATER) -> Reading | CaseReport | Invalid:
    raw = doc if isinstance(doc, bytes) else orjson.dumps(doc)
    return validate(raw, family, REGISTRY, BOUNDS)


def test_valid_reading() -> None:
    result = check(reading())
    assert isinstance(result, Reading)
    assert (result.value, result.location, result.ts_ms) == (2.5, LOC, NOW - 1000)


def test_valid_case() -> None:
    result = check(case(), Family.CASE)
    assert isinstance(result, CaseReport)
    assert (result.category, result.location) == ("garbage", LOC)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (b"\xff\xfe not json", Reason.MALFORMED_JSON),
        (b'{"event_id": "x"', Reason.MALFORMED_JSON),
        (b"[1, 2]", Reason.NOT_AN_OBJECT),
        (reading(value=...), Reason.MISSING_FIELD),
        (reading(value=None), Reason.MISSING_FIELD),
        (reading(value="3.1"), Reason.WRONG_TYPE),
        (reading(value=True), Reason.WRONG_TYPE),
        (reading(ts="2026-11-25T00:00:00Z"), Reason.WRONG_TYPE),
        (reading(schema_version=2), Reason.BAD_SCHEMA_VERSION),
        (reading(event_id="not-a-uuid"), Reason.BAD_EVENT_ID),
        (reading(family="power"), Reason.WRONG_FAMILY),
        (reading(metric="pm25"), Reason.UNKNOWN_METRIC),
        (reading(metric="bogus"), Reason.UNKNOWN_METRIC),
        (reading(value=1e9), Reason.OUT_OF_RANGE),
        (reading(value=-11.0), Reason.OUT_OF_RANGE),
        (reading(source_id="WAT-9999"), Reason.UNKNOWN_SOURCE),
        (reading(grid="D9-S9-G99"), Reason.LOCATION_MISMATCH),
        (reading(ts=NOW + 10 * 60_000), Reason.TIMESTAMP_IN_FUTURE),
        (reading(ts=NOW - 8 * 24 * 3_600_000), Reason.TIMESTAMP_TOO_OLD),
    ],
)
def test_reading_rejections(doc: Any, reason: str) -> None:
    result = check(doc)
    assert isinstance(result, Invalid)
    assert result.reason == reason
    assert result.detail


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (case(category="aliens"), Reason.UNKNOWN_CATEGORY),
        (case(status="lost"), Reason.UNKNOWN_STATUS),
        (case(grid="D1-S1-G99"), Reason.UNKNOWN_GRID),
        (case(street="D1-S2"), Reason.LOCATION_MISMATCH),
        (case(lon="east"), Reason.WRONG_TYPE),
    ],
)
def test_case_rejections(doc: Any, reason: str) -> None:
    result = check(doc, Family.CASE)
    assert isinstance(result, Invalid) and result.reason == reason


def test_nan_is_out_of_range() -> None:
    raw = orjson.dumps(reading(value=0.0)).replace(b'"value":0.0', b'"value":NaN')
    result = check(raw)
    assert isinstance(result, Invalid)  # orjson refuses NaN: malformed, never stored


def test_every_reason_is_listed() -> None:
    assert len(set(Reason.ALL)) == len(Reason.ALL) == 18


def test_merged_topic_takes_the_family_from_the_event() -> None:
    assert isinstance(validate(orjson.dumps(reading()), None, REGISTRY, BOUNDS), Reading)
    assert isinstance(validate(orjson.dumps(case()), None, REGISTRY, BOUNDS), CaseReport)
    unknown = validate(orjson.dumps(reading(family="weather")), None, REGISTRY, BOUNDS)
    assert isinstance(unknown, Invalid) and unknown.reason == Reason.WRONG_FAMILY
