"""The event generator: deterministic bytes, the wire format, and the key contract test:
every event gets exactly the verdict from detectors.contract.validation that it was made for."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict

import orjson
import pytest

from detectors.contract.events import CASE_STATUSES, CaseReport, Family, Reading
from detectors.contract.validation import Invalid, Reason, TimeBounds, validate
from sensors_sim.city import CityModel, build_city, registry
from sensors_sim.corruption import CORRUPTIONS
from sensors_sim.generator import (
    EVENT_NAMESPACE,
    SimEvent,
    cadence_rate,
    event_id,
    generate,
    run_rate,
    sensor_streams,
    visit_cycle_s,
)

START = 1_764_115_200_000  # 2025-11-26T00:00:00Z
READING_KEYS = [
    "event_id", "schema_version", "ts", "family", "source_id", "metric", "value",
    "city", "district", "street", "grid",
]  # fmt: skip


@pytest.fixture(scope="module")
def city() -> CityModel:
    return build_city(seed=4)


def _events(city: CityModel, seed: int = 4, start: int = START, **kwargs: float) -> list[SimEvent]:
    options: dict[str, float] = {"malformed_fraction": 0.1, "case_fraction": 0.05, **kwargs}
    return list(generate(city, seed, start, 500.0, 3000, **options))


def test_same_seed_and_start_give_identical_bytes(city: CityModel) -> None:
    assert _events(city) == _events(city)


def test_other_seed_or_start_give_other_events(city: CityModel) -> None:
    first = [e.value for e in _events(city)]
    assert first != [e.value for e in _events(city, seed=5)]
    assert first != [e.value for e in _events(city, start=START + 1000)]


def test_event_times_are_spaced_by_rate_and_ids_are_uuid5(city: CityModel) -> None:
    events = list(generate(city, 4, START, 250.0, 500))
    docs = [orjson.loads(e.value) for e in events]
    assert [d["ts"] for d in docs] == [START + i * 4 for i in range(500)]
    assert docs[7]["event_id"] == str(uuid.uuid5(EVENT_NAMESPACE, f"4:{START}:7"))
    assert len({d["event_id"] for d in docs}) == 500


def test_event_id_matches_uuid5_for_many_indices() -> None:
    for index in [0, 1, 2, 15, 255, 4096, 10**9]:
        expected = str(uuid.uuid5(EVENT_NAMESPACE, f"9:{START}:{index}"))
        assert event_id(9, START, index) == expected


def test_readings_follow_the_wire_format(city: CityModel) -> None:
    events = list(generate(city, 4, START, 500.0, 200, case_fraction=0.0))
    for event in events:
        doc = orjson.loads(event.value)
        assert list(doc) == READING_KEYS
        assert event.key == doc["district"].encode()
        assert doc["family"] == event.family.value
        assert doc["schema_version"] == 1


def test_each_stream_is_visited_as_often_as_its_cadence_asks(city: CityModel) -> None:
    """At the cadence rate one cycle of event time gives every stream cycle / cadence
    readings, evenly spaced: a 30 s detector every 30 s, a 300 s gauge every 300 s."""
    streams = sensor_streams(city, 4)
    rate, cycle = cadence_rate(streams), visit_cycle_s(streams)
    count = round(2 * cycle * rate)
    events = list(generate(city, 4, START, rate, count, case_fraction=0.0))
    times: defaultdict[tuple[str, str], list[int]] = defaultdict(list)
    for doc in map(orjson.loads, (e.value for e in events)):
        times[(doc["source_id"], doc["metric"])].append(doc["ts"])
    assert set(times) == {(s.source.source_id, s.metric) for s in streams}
    cadence = {(s.source.source_id, s.metric): s.source.cadence_s for s in streams}
    for key, seen in times.items():
        assert len(seen) == 2 * cycle // cadence[key], key
        gaps = {b - a for a, b in zip(seen, seen[1:], strict=False)}
        assert all(abs(gap - cadence[key] * 1000) <= 1000 for gap in gaps), (key, gaps)


def test_the_cadence_rate_is_the_sum_of_one_over_cadence(city: CityModel) -> None:
    streams = sensor_streams(city, 4)
    assert {s.source.cadence_s for s in streams} == {30, 60, 300}
    assert cadence_rate(streams) == pytest.approx(sum(1 / s.source.cadence_s for s in streams))
    assert visit_cycle_s(streams) == 300
    assert run_rate(50.0, 0.0, 0.0) == 50.0
    assert run_rate(50.0, 0.2, 0.5) == pytest.approx(125.0)


def test_every_event_gets_the_verdict_it_was_made_for(city: CityModel) -> None:
    """The contract test: validation agrees with the generator on every event."""
    events = list(generate(city, 4, START, 200.0, 6000, malformed_fraction=0.2, case_fraction=0.05))
    known = registry(city)
    bounds = TimeBounds(now_ms=START + 6000 * 5)
    verdicts: Counter[tuple[str | None, str | None]] = Counter()
    for event in events:
        result = validate(event.value, event.family, known, bounds)
        got = result.reason if isinstance(result, Invalid) else None
        verdicts[(event.expected_reason, got)] += 1
        if event.expected_reason is None:
            expected_type = CaseReport if event.family is Family.CASE else Reading
            assert isinstance(result, expected_type)
    mismatches = {pair: n for pair, n in verdicts.items() if pair[0] != pair[1]}
    assert mismatches == {}
    made_for = {reason for reason, _ in verdicts}
    assert made_for == {None} | {reason for reason, _ in CORRUPTIONS}


def test_corruptions_cover_the_promised_reasons() -> None:
    assert [reason for reason, _ in CORRUPTIONS] == [
        Reason.MALFORMED_JSON, Reason.NOT_AN_OBJECT, Reason.MISSING_FIELD, Reason.WRONG_TYPE,
        Reason.BAD_SCHEMA_VERSION, Reason.OUT_OF_RANGE, Reason.UNKNOWN_SOURCE,
        Reason.TIMESTAMP_IN_FUTURE, Reason.LOCATION_MISMATCH, Reason.UNKNOWN_METRIC,
    ]  # fmt: skip


def test_malformed_and_case_shares_follow_the_fractions(city: CityModel) -> None:
    events = list(
        generate(city, 4, START, 500.0, 20000, malformed_fraction=0.05, case_fraction=0.1)
    )
    malformed = sum(1 for e in events if e.expected_reason is not None)
    cases = sum(1 for e in events if e.family is Family.CASE)
    assert 800 < malformed < 1200
    assert 1500 < cases < 2300
    none = list(generate(city, 4, START, 500.0, 2000, malformed_fraction=0.0, case_fraction=0.0))
    assert all(e.expected_reason is None and e.family is not Family.CASE for e in none)


def test_cases_are_only_filed_unless_the_desk_plays_the_departments(city: CityModel) -> None:
    events = list(generate(city, 4, START, 500.0, 5000, case_fraction=0.2))
    statuses = [orjson.loads(e.value)["status"] for e in events if e.family is Family.CASE]
    assert len(statuses) > 500 and set(statuses) == {"filed"}


def test_cases_are_filed_then_move_through_their_lifecycle(city: CityModel) -> None:
    events = list(generate(city, 4, START, 500.0, 20000, case_fraction=0.2, play_departments=True))
    steps: dict[str, list[str]] = defaultdict(list)
    for event in events:
        if event.family is Family.CASE:
            doc = orjson.loads(event.value)
            assert event.key == doc["district"].encode()
            assert doc["source_id"] == "HOTLINE" or doc["source_id"].startswith("GW-")
            steps[doc["case_id"]].append(doc["status"])
    assert len(steps) > 100
    for statuses in steps.values():
        assert statuses == list(CASE_STATUSES[: len(statuses)])
    assert any(len(statuses) == len(CASE_STATUSES) for statuses in steps.values())


def test_case_reports_sit_in_their_grid_cell(city: CityModel) -> None:
    from sensors_sim.geometry import contains

    cells = {c.code: c for c in city.level("grid")}
    known = registry(city)
    for event in generate(city, 4, START, 500.0, 3000, case_fraction=0.5):
        if event.family is Family.CASE:
            doc = orjson.loads(event.value)
            assert known.grids[doc["grid"]].street == doc["street"]
            assert contains(cells[doc["grid"]].ring, (doc["lon"], doc["lat"]))


@pytest.mark.parametrize(
    ("rate", "count", "malformed", "cases"),
    [(0.0, 10, 0.0, 0.0), (-5.0, 10, 0.0, 0.0), (1.0, -1, 0.0, 0.0), (1.0, 1, 1.5, 0.0),
     (1.0, 1, 0.0, -0.1)],
)  # fmt: skip
def test_bad_arguments_are_refused(
    city: CityModel, rate: float, count: int, malformed: float, cases: float
) -> None:
    with pytest.raises(ValueError):
        next(generate(city, 1, START, rate, count, malformed, cases))


def test_endless_generation_when_count_is_none(city: CityModel) -> None:
    events = generate(city, 1, START, 1000.0, None)
    assert len([next(events) for _ in range(5000)]) == 5000
