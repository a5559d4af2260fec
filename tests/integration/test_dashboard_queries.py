"""ClickHouseQueries against the real server: FINAL, sums over source partitions, and the
newest window by event time, each checked exactly."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dashboard.audit import ClickHouseAuditLog
from dashboard.queries import (
    ClickHouseQueries,
    DeadLetterCounts,
    DistrictRollup,
    RatePoint,
)
from dashboard.scope import Role, Scope
from detectors.contract.audit import AccessEvent, AccessKind
from detectors.contract.city import Area
from detectors.contract.tables import AREAS, DEAD_LETTERS, ROLLUPS_1M
from infra.clickhouse import connect
from infra.settings import CommonSettings
from sensors_sim.city import build_city
from sensors_sim.drill_record import DrillRecorder
from sensors_sim.drills import DrillSchedule

pytestmark = pytest.mark.integration
COMMANDER = Scope(Role.CITY_COMMANDER, "", "commander")

Row = tuple[Any, ...]
T = datetime(2025, 11, 26, 10, 5, tzinfo=UTC)
"""The newest district window of the data set, far in the past on purpose."""

AREA_COLUMNS = AREAS.column_list
ROLLUP_COLUMNS = ROLLUPS_1M.column_list
DEAD_LETTER_COLUMNS = DEAD_LETTERS.column_list


def _minutes(n: int) -> datetime:
    return T + timedelta(minutes=n)


def _square(lon: float, lat: float) -> list[list[float]]:
    return [[lon, lat], [lon + 0.1, lat], [lon + 0.1, lat + 0.1], [lon, lat + 0.1], [lon, lat]]


def _area(level: str, code: str, name: str, ring: list[list[float]], version: int) -> Row:
    updated = datetime(2025, 1, 1, tzinfo=UTC) + timedelta(seconds=version)
    return (level, code, "CB" if level != "city" else "", "CB", code if level == "district" else "",
            "", name, f"{name}区", json.dumps(ring), ring[0][0], ring[0][1], updated)  # fmt: skip


def _rollup(
    level: str, key: str, metric: str, minute: int, partition: int, cnt: int, total: float,
    low: float, high: float, version: int, topic: str = "citybrain.environment",
) -> Row:  # fmt: skip
    return (level, key, metric, "environment", _minutes(minute), topic, partition, cnt, total,
            low, high, version)  # fmt: skip


def _insert(settings: CommonSettings, table: str, columns: str, rows: Sequence[Row]) -> None:
    """One INSERT with the rows as data: the 18.16 server hangs on literal VALUES."""
    client = connect(settings)
    try:
        client.execute(f"INSERT INTO {table} ({columns}) VALUES", list(rows))
    finally:
        client.disconnect()


def _queries(settings: CommonSettings) -> ClickHouseQueries:
    return ClickHouseQueries(lambda: connect(settings))


@pytest.fixture
def city(isolated: CommonSettings) -> CommonSettings:
    """A small city with roll-ups written as the worker writes them: re-delivered rows
    with a higher version, one row per source partition."""
    _insert(isolated, "areas", AREA_COLUMNS, [
        _area("city", "CB", "Citybrain", _square(120.0, 30.0), 1),
        _area("district", "D1", "Old name", _square(121.0, 31.0), 1),
        _area("district", "D2", "Riverside", _square(120.1, 30.0), 1),
        _area("street", "D1-S1", "A street", _square(120.0, 30.0), 1),
    ])  # fmt: skip
    _insert(
        isolated,
        "areas",
        AREA_COLUMNS,
        [_area("district", "D1", "Oldtown", _square(120.0, 30.0), 2)],
    )
    _insert(isolated, "rollups_1m", ROLLUP_COLUMNS, [
        # D1 pm25 at T: partition 0 (superseded below) and partition 1.
        _rollup("district", "D1", "pm25", 0, 0, 2, 10.0, 4.0, 6.0, version=5),
        _rollup("district", "D1", "pm25", 0, 1, 1, 20.0, 20.0, 20.0, version=4),
        # An older minute of D1 pm25: not the latest.
        _rollup("district", "D1", "pm25", -1, 0, 100, 100.0, 1.0, 1.0, version=3),
        # D2's newest pm25 is two minutes old, from two topics; its noise is too old.
        _rollup("district", "D2", "pm25", -2, 0, 4, 40.0, 9.0, 11.0, version=7),
        _rollup("district", "D2", "pm25", -2, 0, 1, 50.0, 50.0, 50.0, 2, topic="other"),
        _rollup("district", "D2", "noise", -10, 0, 9, 540.0, 55.0, 65.0, version=1),
        # A finer level that is newer must not move the district anchor.
        _rollup("street", "D1-S1", "pm25", 2, 0, 1, 1.0, 1.0, 1.0, version=1),
        # The city: three recent minutes (10:02 silent) and one long ago.
        _rollup("city", "CB", "pm25", -3, 0, 50, 0.0, 0.0, 0.0, version=1),
        _rollup("city", "CB", "pm25", -1, 0, 60, 0.0, 0.0, 0.0, version=2),
        _rollup("city", "CB", "noise", -1, 1, 15, 0.0, 0.0, 0.0, version=2),
        _rollup("city", "CB", "pm25", 0, 0, 10, 0.0, 0.0, 0.0, version=3),
        _rollup("city", "CB", "pm25", 0, 1, 20, 0.0, 0.0, 0.0, version=3),
        _rollup("city", "CB", "pm25", -65, 0, 999, 0.0, 0.0, 0.0, version=1),
    ])  # fmt: skip
    # The re-delivery: partition 0 of D1 pm25 at T grew, and the city minute with it.
    _insert(isolated, "rollups_1m", ROLLUP_COLUMNS, [
        _rollup("district", "D1", "pm25", 0, 0, 3, 15.0, 3.0, 7.0, version=9),
        _rollup("city", "CB", "pm25", 0, 0, 12, 0.0, 0.0, 0.0, version=4),
    ])  # fmt: skip
    letter = ("citybrain.environment", 0, 17, T, "environment", "bad_json", "", "{", "w1")
    _insert(isolated, "dead_letters", DEAD_LETTER_COLUMNS, [
        letter,
        letter[:2] + (18,) + letter[3:],
        ("citybrain.water", 2, 5, T, "water", "out_of_range", "value 900", "{}", "w1"),
    ])  # fmt: skip
    _insert(isolated, "dead_letters", DEAD_LETTER_COLUMNS, [letter])  # re-delivered
    return isolated


def test_district_shapes_are_the_newest_city_and_district_rows(city: CommonSettings) -> None:
    shapes = _queries(city).district_shapes(COMMANDER)
    ring = tuple((lon, lat) for lon, lat in _square(120.0, 30.0))
    assert shapes.city == Area("city", "CB", "", "Citybrain", "Citybrain区", ring)
    assert shapes.districts == (
        Area("district", "D1", "CB", "Oldtown", "Oldtown区", ring),
        Area("district", "D2", "CB", "Riverside", "Riverside区",
             tuple((lon, lat) for lon, lat in _square(120.1, 30.0))),
    )  # fmt: skip


def test_latest_district_rollups_sum_the_final_rows_over_partitions(city: CommonSettings) -> None:
    # The newest district minute (T) is still filling up: each district's newest complete
    # minute of the ten before it is read (D1's at T-1, D2's at T-2 from two topics, and
    # D2's noise at T-10).
    assert _queries(city).latest_district_rollups(COMMANDER) == [
        DistrictRollup("D1", "pm25", _minutes(-1), 100, 1.0, 1.0, 1.0),
        DistrictRollup("D2", "noise", _minutes(-10), 9, 60.0, 55.0, 65.0),
        DistrictRollup("D2", "pm25", _minutes(-2), 5, 90.0 / 5, 9.0, 50.0),
    ]


def test_latest_district_rollups_sum_the_partitions_of_a_complete_minute(
    city: CommonSettings,
) -> None:
    """Once T is over (T+1 is the newest), T's partitions and re-delivery are summed (and
    D2's noise, eleven minutes old then, is left out)."""
    _insert(city, "rollups_1m", ROLLUP_COLUMNS, [
        _rollup("district", "D2", "pm25", 1, 0, 1, 1.0, 1.0, 1.0, version=1),
    ])  # fmt: skip
    assert _queries(city).latest_district_rollups(COMMANDER) == [
        DistrictRollup("D1", "pm25", T, 4, 35.0 / 4, 3.0, 20.0),
        DistrictRollup("D2", "pm25", _minutes(-2), 5, 90.0 / 5, 9.0, 50.0),
    ]


def test_latest_district_rollups_look_back_only_the_given_minutes(city: CommonSettings) -> None:
    assert _queries(city).latest_district_rollups(COMMANDER, minutes=1) == [
        DistrictRollup("D1", "pm25", _minutes(-1), 100, 1.0, 1.0, 1.0)
    ]
    assert len(_queries(city).latest_district_rollups(COMMANDER, minutes=10)) == 3


def test_event_rate_is_the_city_count_per_minute_newest_last(city: CommonSettings) -> None:
    assert _queries(city).event_rate(COMMANDER) == [
        RatePoint(_minutes(-3), 50),
        RatePoint(_minutes(-1), 75),
        RatePoint(T, 32),
    ]
    assert _queries(city).event_rate(COMMANDER, minutes=2) == [
        RatePoint(_minutes(-1), 75),
        RatePoint(T, 32),
    ]
    assert _queries(city).event_rate(COMMANDER)[-1].per_second == pytest.approx(32 / 60)


def test_dead_letters_count_each_message_once(city: CommonSettings) -> None:
    assert _queries(city).dead_letter_counts(COMMANDER) == DeadLetterCounts(
        3, (("bad_json", 2), ("out_of_range", 1))
    )


def test_an_empty_database_answers_with_nothing(isolated: CommonSettings) -> None:
    queries = _queries(isolated)
    assert queries.district_shapes(COMMANDER).districts == ()
    assert queries.district_shapes(COMMANDER).city is None
    assert queries.latest_district_rollups(COMMANDER) == []
    assert queries.event_rate(COMMANDER) == []
    assert queries.dead_letter_counts(COMMANDER) == DeadLetterCounts(0, ())


def test_the_newest_window_is_found_when_the_newest_day_lacks_the_level(
    isolated: CommonSettings,
) -> None:
    """Districts last reported yesterday, the city today: both are still found."""
    _insert(isolated, "rollups_1m", ROLLUP_COLUMNS, [
        _rollup("district", "D1", "pm25", -24 * 60 - 1, 0, 2, 8.0, 3.0, 5.0, version=1),
        _rollup("district", "D1", "pm25", -24 * 60, 0, 1, 1.0, 1.0, 1.0, version=1),
        _rollup("city", "CB", "pm25", 0, 0, 6, 0.0, 0.0, 0.0, version=1),
    ])  # fmt: skip
    queries = _queries(isolated)
    assert queries.latest_district_rollups(COMMANDER) == [
        DistrictRollup("D1", "pm25", _minutes(-24 * 60 - 1), 2, 4.0, 3.0, 5.0)
    ]
    assert queries.event_rate(COMMANDER) == [RatePoint(T, 6)]


def test_the_pool_serves_many_queries_on_one_connection(city: CommonSettings) -> None:
    made: list[Any] = []

    def factory() -> Any:
        made.append(connect(city))
        return made[-1]

    queries = ClickHouseQueries(factory)
    for _ in range(5):
        queries.event_rate(COMMANDER)
    assert len(made) == 1


def test_the_access_audit_is_written_and_read_back_newest_first_in_scope(
    isolated: CommonSettings,
) -> None:
    audit = ClickHouseAuditLog(lambda: connect(isolated))
    entries = [
        AccessEvent("e-1", 1_764_000_000_000, AccessKind.LOGIN_FAILED, "li", "li", "10.0.0.7",
                    "", "", "wrong password or unknown user"),
        AccessEvent("e-2", 1_764_000_001_000, AccessKind.LOGIN, "li", "li", "10.0.0.7",
                    "district_operator", "D1", ""),
        AccessEvent("e-3", 1_764_000_002_000, AccessKind.USER_DISABLED, "wu", "cli:ops", "",
                    "engineer", "", ""),
    ]  # fmt: skip
    for entry in entries:
        audit.record(entry)
    audit.record(entries[0])  # written twice: still one entry (FINAL)
    queries = _queries(isolated)
    assert queries.access_events(COMMANDER) == entries[::-1]
    assert queries.access_events(COMMANDER, limit=1) == [entries[2]]
    operator = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
    assert queries.access_events(operator) == [entries[1]]


def test_a_recorded_drill_is_read_back_while_it_runs_and_in_scope(
    isolated: CommonSettings,
) -> None:
    """The simulator's recorder writes a drill (twice: FINAL keeps one); the dashboard
    reads it only while it runs (or within the grace), only in its district's scope."""
    drill = DrillSchedule.for_city(build_city(42), 42, 1_764_115_200_000).drill(0)
    recorder = DrillRecorder(isolated, io.StringIO(), clock=lambda: 1_764_115_000.0)
    recorder.record(drill)
    recorder.record(drill)
    queries = _queries(isolated)
    [found] = queries.active_drills(COMMANDER, drill.start_ms + 1)
    assert (found.drill_id, found.kind, found.area_name) == (
        drill.drill_id,
        "flood",
        drill.area.name,
    )
    assert found.place.street == drill.area.code and found.metrics == ("pipe_level", "rainfall")
    assert (found.start_ms, found.end_ms) == (drill.start_ms, drill.end_ms)
    assert queries.active_drills(COMMANDER, drill.start_ms - 1) == []
    assert queries.active_drills(COMMANDER, drill.end_ms) == []
    assert len(queries.active_drills(COMMANDER, drill.end_ms, 60_000)) == 1
    other = "D1" if drill.location.district != "D1" else "D2"
    assert queries.active_drills(Scope(Role.DISTRICT_OPERATOR, other, "li"), drill.start_ms) == []
    mine = Scope(Role.DISTRICT_OPERATOR, drill.location.district, "li")
    assert len(queries.active_drills(mine, drill.start_ms)) == 1
