"""Row builders build tuples in their table spec's column order, with values of the
column's type: each row is read back through the spec's column names."""

from __future__ import annotations

import hashlib
import re

import orjson
import pytest

from detectors.alerting.types import AlertEvent
from detectors.contract import dead_letter
from detectors.contract.dead_letter import RAW_CAP_BYTES
from detectors.contract.events import CaseReport, Family, Location, Reading, Source
from detectors.contract.levels import WarningLevel
from detectors.contract.table_spec import TableSpec
from detectors.contract.tables import (
    ALERT_EVENTS,
    ALERTS_CURRENT,
    CASES_RAW,
    DEAD_LETTERS,
    EVENTS_RAW,
    ROLLUPS_1M,
    SOURCE_PROFILES,
    SOURCES,
    STAGE_CHANGES,
    source_row,
)
from detectors.contract.validation import Invalid
from detectors.rollup.aggregation import SummaryState
from detectors.scoring.sites import Site
from sensors_sim import reference, scenario_play
from sensors_sim.city import build_city
from streams import alert_rows, batch
from streams.alerting import AlertingStage, StageOutput
from streams.rollup import StoredRow

WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
TS_MS = 1_764_115_200_250
MESSAGE = batch.Message("cb.water", 2, 41, TS_MS + 5, b"WAT-1", b'{"bad": 1}')


def read(spec: TableSpec, row: tuple[object, ...]) -> dict[str, object]:
    """A row by column name, after checking each value fits its column's type."""
    for column, value in zip(spec.columns, row, strict=True):
        assert fits(column.type, value), (spec.name, column, value)
    return dict(zip(spec.names, row, strict=True))


def fits(kind: str, value: object) -> bool:
    nullable = re.fullmatch(r"Nullable\((.*)\)", kind)
    if nullable:
        return value is None or fits(nullable.group(1), value)
    if kind.startswith("Array("):
        return isinstance(value, list) and all(fits(kind[6:-1], v) for v in value)
    if kind in ("String", "dimension"):
        return isinstance(value, str | bytes)
    if kind == "Float64":
        return isinstance(value, float | int) and not isinstance(value, bool)
    return isinstance(value, int) and not isinstance(value, bool)  # UInt*, DateTime


def test_events_raw_rows() -> None:
    reading = Reading("ev-1", TS_MS, Family.WATER, "WAT-1", "water_level", 3.5, WHERE)
    [row] = batch.raw_rows(batch.Validated(readings=[(MESSAGE, reading)]), 99_250)
    assert read(EVENTS_RAW, row) == {
        "event_id": "ev-1", "ts": TS_MS // 1000, "ts_ms": TS_MS, "family": "water",
        "source_id": "WAT-1", "metric": "water_level", "value": 3.5, "city": "CB",
        "district": "D1", "street": "D1-S1", "grid": "D1-S1-G01", "ingested_at": 99,
        "ingested_ms": 99_250,
    }  # fmt: skip


def test_cases_raw_rows() -> None:
    case = CaseReport("ev-2", TS_MS, "case-9", "noise", "open", "APP", WHERE, 1.5, 2.5,
                      "loud", "p.jpg")  # fmt: skip
    [row] = batch.case_rows(batch.Validated(cases=[(MESSAGE, case)]), 99_250)
    assert read(CASES_RAW, row) == {
        "event_id": "ev-2", "ts": TS_MS // 1000, "ts_ms": TS_MS, "case_id": "case-9",
        "category": "noise", "status": "open", "source_id": "APP", "city": "CB",
        "district": "D1", "street": "D1-S1", "grid": "D1-S1-G01", "lon": 1.5, "lat": 2.5,
        "text": "loud", "photo_ref": "p.jpg", "ingested_at": 99,
        "ingested_ms": 99_250,
    }  # fmt: skip


def test_dead_letters_rows() -> None:
    validated = batch.Validated(dead=[(MESSAGE, Invalid("bad_json", "no field"))])
    [row] = batch.dead_rows(validated, {"cb.water": Family.WATER}, "worker-1")
    assert read(DEAD_LETTERS, row) == {
        "src_topic": "cb.water", "src_partition": 2, "src_offset": 41,
        "kafka_ts": (TS_MS + 5) // 1000, "family": "water", "reason": "bad_json",
        "detail": "no field", "raw": b'{"bad": 1}', "worker": "worker-1",
    }  # fmt: skip


def test_dead_letter_rows_and_messages_keep_at_most_the_cap() -> None:
    original = b"{" + b"7" * (2 * RAW_CAP_BYTES)
    message = batch.Message("cb.water", 0, 7, TS_MS, None, original)
    validated = batch.Validated(dead=[(message, Invalid("oversized", "too long"))])
    stored = read(DEAD_LETTERS, batch.dead_rows(validated, {"cb.water": Family.WATER}, "w")[0])
    sha = hashlib.sha256(original).hexdigest()
    assert stored["raw"] == original[:RAW_CAP_BYTES]
    assert (
        stored["detail"] == f"too long; kept the first {RAW_CAP_BYTES} of {len(original)} "
        f"bytes, sha256 {sha}"
    )
    kept = dead_letter.keep(original)
    header = dict(dead_letter.headers("oversized", "too long", "cb.water", 0, 7, kept))
    meta = orjson.loads(header[dead_letter.HEADER])
    assert meta["raw_length"] == len(original) and meta["truncated"] is True
    assert meta["raw_sha256"] == sha


def test_rollups_rows() -> None:
    stored = StoredRow(60_000, ("street", "D1-S1", "pm25"), "environment",
                       SummaryState(3, 6.0, 1.0, 3.0), 41)  # fmt: skip
    [row] = batch.rollup_rows([(("cb.environment", 1), stored)])
    assert read(ROLLUPS_1M, row) == {
        "level": "street", "key": "D1-S1", "metric": "pm25", "family": "environment",
        "window_start": 60, "src_topic": "cb.environment", "src_partition": 1, "cnt": 3,
        "sum": 6.0, "min": 1.0, "max": 3.0, "version": 41,
    }  # fmt: skip


@pytest.fixture
def event() -> AlertEvent:
    return AlertEvent(
        "ev-3", "raised", TS_MS, "al-1", "in-1", "WAT-1:water_level:limit", "limit",
        WarningLevel.II, "street", True, "above warning", WHERE, "street",
        {"source_id": "WAT-1", "metric": "water_level"},
    )  # fmt: skip


def test_alert_events_rows(event: AlertEvent) -> None:
    out = StageOutput(events=[event], actors={"ev-3": ("ops", "on it")})
    [row] = alert_rows.event_rows(out, TS_MS + 900)
    assert read(ALERT_EVENTS, row) == {
        "event_id": "ev-3", "ts": TS_MS // 1000, "ts_ms": TS_MS, "kind": "raised",
        "alert_id": "al-1", "incident_id": "in-1", "key": "WAT-1:water_level:limit",
        "category": "limit", "level": "II", "level_rank": 3, "tier": "street", "notify": 1,
        "reason": "above warning", "city": "CB", "district": "D1", "street": "D1-S1",
        "grid": "D1-S1-G01", "scope": "street", "evidence": orjson.dumps(event.evidence).decode(),
        "actor": "ops", "comment": "on it", "created_ms": TS_MS + 900,
    }  # fmt: skip


def test_alerts_current_rows(event: AlertEvent) -> None:
    [row] = alert_rows.current_rows(AlertingStage(), [event], TS_MS + 900)
    assert read(ALERTS_CURRENT, row) == {
        "alert_id": "al-1", "subject": "alert", "incident_id": "in-1",
        "key": "WAT-1:water_level:limit", "category": "limit", "level": "II", "level_rank": 3,
        "tier": "street", "status": "active", "opened_ms": TS_MS, "updated_ms": TS_MS,
        "version": 1, "acknowledged_by": "", "assignee": "", "notify": 1,
        "reason": "above warning", "city": "CB", "district": "D1", "street": "D1-S1",
        "grid": "D1-S1-G01", "scope": "street", "source_id": "WAT-1", "metric": "water_level",
        "evidence": orjson.dumps(event.evidence).decode(), "created_ms": TS_MS + 900,
    }  # fmt: skip


def test_stage_changes_rows() -> None:
    stage = AlertingStage()
    stage.stages["district:D1"] = 3
    [row] = alert_rows.stage_rows(stage, TS_MS)
    assert read(STAGE_CHANGES, row) == {
        "level": "district", "code": "D1", "ts": TS_MS // 1000, "ts_ms": TS_MS, "stage": 1,
        "previous": 3, "reason": "stage 1: no active alerts",
    }  # fmt: skip


def test_one_sources_row_for_the_city_and_for_a_scenario() -> None:
    source = Source("WAT-1", Family.WATER, "river_gauge", frozenset({"water_level", "flow"}),
                    WHERE, 113.5, 22.5, 60)  # fmt: skip
    row = source_row(source, 7)
    assert read(SOURCES, row) == {
        "source_id": "WAT-1", "family": "water", "kind": "river_gauge",
        "metrics": ["flow", "water_level"], "city": "CB", "district": "D1", "street": "D1-S1",
        "grid": "D1-S1-G01", "lon": 113.5, "lat": 22.5, "cadence_s": 60, "updated_at": 7,
    }  # fmt: skip
    assert scenario_play.source_rows([source], 7) == [row]
    city = build_city(42)
    assert reference.source_rows(city, 7) == [source_row(s, 7) for s in city.sources]


def test_source_profiles_rows() -> None:
    site = Site("WAT-1", "river_gauge", ("water_level",), WHERE, 60, "river", {"warning": 4.0})
    [row] = scenario_play.profile_rows([site], 7)
    assert read(SOURCE_PROFILES, row) == {
        "source_id": "WAT-1", "group_name": "river", "limits": '{"warning":4.0}',
        "updated_at": 7,
    }  # fmt: skip
