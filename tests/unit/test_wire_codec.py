"""The wire codec: each event kind encodes into bytes that validate back into the same
event, and every producer (simulator, scenario play, replay) writes exactly the codec's
bytes, so there is one wire form however an event is made."""

from __future__ import annotations

import orjson
import pytest

from detectors.contract import wire
from detectors.contract.events import CaseReport, Family, Location, Reading, Source
from detectors.contract.validation import Invalid, Reason, Registry, TimeBounds, validate
from replay.wire import case_message, reading_message
from sensors_sim.city import build_city, registry
from sensors_sim.generator import generate
from sensors_sim.scenario import scenario_events
from tests.unit.test_sim_scenario import END_MS, planned, registry_after

START = 1_764_115_200_000
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
REGISTRY = Registry(
    sources={
        "WAT-0001": Source("WAT-0001", Family.WATER, "river_gauge",
                           frozenset({"water_level"}), WHERE, 120.1, 30.2, 60),
    },
    grids={WHERE.grid: WHERE},
)  # fmt: skip
BOUNDS = TimeBounds(now_ms=START)
READING = Reading(
    "0b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6b", START - 1000, Family.WATER, "WAT-0001",
    "water_level", 2.5, WHERE,
)  # fmt: skip
CASE = CaseReport(
    "1b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6b", START, "CS-1", "garbage", "dispatched",
    "GW-0001", WHERE, 120.11, 30.21, "垃圾堆放", "photo/CS-1/report.jpg",
)  # fmt: skip


@pytest.mark.parametrize("topic", [Family.WATER, None])
def test_a_reading_round_trips_through_validation(topic: Family | None) -> None:
    raw = wire.encode_reading(READING)
    assert validate(raw, topic, REGISTRY, BOUNDS) == READING
    assert wire.key_of(READING) == WHERE.district.encode()


@pytest.mark.parametrize("topic", [Family.CASE, None])
def test_a_case_event_round_trips_through_validation(topic: Family | None) -> None:
    raw = wire.encode_case(CASE)
    assert validate(raw, topic, REGISTRY, BOUNDS) == CASE
    assert wire.key_of(CASE) == WHERE.district.encode()


def test_documents_carry_the_declared_fields_in_wire_order() -> None:
    assert list(wire.reading_document(READING)) == list(wire.READING_FIELDS)
    case_fields = list(wire.case_document(CASE))
    assert case_fields == [*wire.CASE_FIELDS, "text", "photo_ref"]
    assert wire.fields_of(Family.CASE) is wire.CASE_FIELDS
    assert wire.fields_of(Family.POWER) is wire.READING_FIELDS


def test_decode_names_the_first_thing_wrong() -> None:
    doc = wire.reading_document(READING)
    bad = {
        b"{oops": Reason.MALFORMED_JSON,
        b"[1]": Reason.NOT_AN_OBJECT,
        orjson.dumps({**doc, "metric": None}): Reason.MISSING_FIELD,
        orjson.dumps({**doc, "ts": True}): Reason.WRONG_TYPE,
        orjson.dumps({**doc, "family": "gas"}): Reason.WRONG_FAMILY,
    }
    for raw, reason in bad.items():
        with pytest.raises(wire.WireError) as caught:
            wire.decode(raw, None)
        assert caught.value.reason == reason
        verdict = validate(raw, None, REGISTRY, BOUNDS)
        assert isinstance(verdict, Invalid) and verdict.reason == reason


def _same_bytes_again(
    raw: bytes, family: Family, key: bytes | None, known: Registry, bounds: TimeBounds
) -> None:
    """The bytes decode on ``family``'s topic and validate into an event the codec writes
    back byte for byte, under the codec's key."""
    decoded_family, doc = wire.decode(raw, family)
    assert decoded_family is family and wire.encode_document(doc) == raw
    event = validate(raw, family, known, bounds)
    assert isinstance(event, Reading | CaseReport), event
    if isinstance(event, CaseReport):
        assert wire.encode_case(event) == raw
    else:
        assert wire.encode_reading(event) == raw
    assert wire.key_of(event) == key


def test_every_simulated_event_is_the_codecs_bytes() -> None:
    city = build_city(seed=4)
    known, bounds = registry(city), TimeBounds(now_ms=START + 10_000)
    events = list(generate(city, 4, START, 500.0, 3000, case_fraction=0.2))
    assert {e.family for e in events} >= {Family.CASE, Family.WATER}
    for event in events:
        _same_bytes_again(event.value, event.family, event.key, known, bounds)


@pytest.mark.parametrize("name", ["case_surge", "water_main"])
def test_every_scenario_event_is_the_codecs_bytes(name: str) -> None:
    synthesis, timeline, plan = planned(name)
    known, bounds = registry_after(plan), TimeBounds(now_ms=END_MS)
    played = list(scenario_events(synthesis, 7, timeline, plan.cells))[:2000]
    assert played
    for _, event in played:
        _same_bytes_again(event.value, event.family, event.key, known, bounds)


def test_replayed_rows_are_the_codecs_bytes() -> None:
    reading_row = (READING.event_id, READING.ts_ms, "water", "WAT-0001", "water_level", 2.5,
                   "CB", "D1", "D1-S1", "D1-S1-G01")  # fmt: skip
    case_row = (CASE.event_id, CASE.ts_ms, "CS-1", "garbage", "dispatched", "GW-0001",
                "CB", "D1", "D1-S1", "D1-S1-G01", 120.11, 30.21, "垃圾堆放",
                "photo/CS-1/report.jpg")  # fmt: skip
    reading, case = reading_message(reading_row), case_message(case_row)
    assert (reading.value, reading.key) == (wire.encode_reading(READING), b"D1")
    assert (case.value, case.key) == (wire.encode_case(CASE), b"D1")
    _same_bytes_again(reading.value, Family.WATER, reading.key, REGISTRY, BOUNDS)
    _same_bytes_again(case.value, Family.CASE, case.key, REGISTRY, BOUNDS)
