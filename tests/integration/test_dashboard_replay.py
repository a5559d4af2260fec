"""The replay page's queries against a real ClickHouse: the finished replays of a live
namespace, and a replay database's events and stages at a moment."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard.model import QueryError
from dashboard.replay_queries import BadReplay, ReplayInfo, ReplayQueries
from dashboard.replay_state import active_at, stages_at
from dashboard.scope import Role, Scope, ScopeError
from detectors.contract.levels import WarningLevel
from detectors.contract.tables import ROLLUPS_1M
from infra.clickhouse import connect, drop_database, ensure_schema
from infra.settings import CommonSettings
from tests.browser.seed import ALERT_COLUMNS, alert_row

T0 = 1_700_000_000_000
CITY = Scope(Role.ENGINEER, "", "eng")
D2 = Scope(Role.ENGINEER, "D2", "eng-d2")


def _ts(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC).replace(tzinfo=None)


def _replay_row(name: str, status: str, database: str, version: int) -> tuple[Any, ...]:
    return (name, status, "live", T0, T0 + 60_000, [], [], "max", "", "", 0, 0, database,
            "", _ts(T0), None, 0, "", version)  # fmt: skip


def _event(ms: int, kind: str, alert_id: str, rank: int, district: str) -> tuple[Any, ...]:
    street, grid = f"{district}-S1", f"{district}-S1-G01"
    return (uuid.uuid4().hex, _ts(ms), ms, kind, alert_id, "", "", "flood", "", rank, "grid",
            0, "r", "C", district, street, grid, "grid", "", "", "")  # fmt: skip


@pytest.fixture
def replay_db(isolated: CommonSettings) -> Iterator[tuple[CommonSettings, str, str]]:
    name = "t" + uuid.uuid4().hex[:10]
    database = f"replay_{name}"
    ensure_schema(isolated, database=database)
    client = connect(isolated)
    try:
        client.execute(
            "INSERT INTO replays (name, status, source, from_ms, to_ms, districts, families,"
            " speed, config_file, detector_config, events, bytes, database, topic_prefix,"
            " created_at, finished_at, worker_pid, message, version) VALUES",
            [
                _replay_row(name, "running", database, 1),
                _replay_row(name, "finished", database, 2),
                _replay_row("other", "running", "replay_other", 1),
                _replay_row("evil", "finished", "replay_x; DROP", 1),
            ],
        )
        client.execute(
            f"INSERT INTO {database}.alert_events (event_id, ts, ts_ms, kind, alert_id,"
            " incident_id, key, category, level, level_rank, tier, notify, reason, city,"
            " district, street, grid, scope, evidence, actor, comment) VALUES",
            [
                _event(T0 + 1000, "raised", "a1", 3, "D1"),
                _event(T0 + 2000, "raised", "a2", 1, "D2"),
                _event(T0 + 30_000, "cleared", "a1", 0, "D1"),
            ],
        )
        client.execute(
            f"INSERT INTO {database}.stage_changes (level, code, ts, ts_ms, stage, previous,"
            " reason) VALUES",
            [("district", "D1", _ts(T0 + 1500), T0 + 1500, 3, 1, "flood")],
        )
        client.execute(
            f"INSERT INTO {database}.areas (level, code, parent, city, district, street, name,"
            " name_zh, ring, lon, lat, updated_at) VALUES",
            [
                ("city", "C", "", "C", "", "", "City", "", "", 0.0, 0.0, _ts(T0)),
                ("district", "D1", "C", "C", "D1", "", "One", "", "", 0.0, 0.0, _ts(T0)),
            ],
        )
        client.execute(
            f"INSERT INTO {database}.rollups_1m ({ROLLUPS_1M.column_list}) VALUES",
            [
                (
                    level,
                    key,
                    metric,
                    family,
                    (T0 + m * 60_000) // 1000,
                    f"t.{family}",
                    part,
                    n,
                    2.0 * n,
                    1.0,
                    3.0,
                    version,
                )
                for level, key in (("city", "C"), ("district", "D1"), ("district", "D2"))
                for m in range(3)
                for family, metric, n in (("water", "water_level", 4), ("power", "load", 2))
                for part in (0, 1)
                for version in (1, 2)  # an older cumulative row FINAL must drop
            ],
        )
        client.execute(
            f"INSERT INTO {database}.alerts_current ({ALERT_COLUMNS}) VALUES",
            [
                alert_row(
                    "m1",
                    WarningLevel.II,
                    "cleared",
                    ("C", "D1", "D1-S1", "D1-S1-G01"),
                    "WAT-0001",
                    "water_level",
                    T0 + 60_000,
                ),
                alert_row(
                    "m2",
                    WarningLevel.IV,
                    "active",
                    ("C", "D2", "D2-S1", "D2-S1-G01"),
                    "WAT-0002",
                    "water_level",
                    T0 + 90_000,
                ),
            ],
        )
    finally:
        client.disconnect()
    yield isolated, name, database
    drop_database(isolated, database)


def test_finished_replays_and_their_moments(replay_db: tuple[CommonSettings, str, str]) -> None:
    settings, name, database = replay_db
    replays = ReplayQueries(lambda: connect(settings))
    listed = {r.name: r for r in replays.finished()}
    assert set(listed) == {name, "evil"}
    info = replays.replay(name)
    assert info == ReplayInfo(name, "finished", T0, T0 + 60_000, database)
    assert replays.replay("other") is None  # not finished
    assert replays.replay("nope") is None
    assert replays.replay("x'; DROP TABLE replays; --") is None

    events = replays.events(info, CITY, T0 + 10_000)
    assert [(a.alert_id, a.level_rank) for a in active_at(events, T0 + 10_000)] == [
        ("a1", 3),
        ("a2", 1),
    ]
    later = replays.events(info, CITY, T0 + 40_000)
    assert [a.alert_id for a in active_at(later, T0 + 40_000)] == ["a2"]
    changes = replays.stage_changes(info, CITY, T0 + 10_000)
    assert stages_at(changes, ["D1", "D2"], T0 + 10_000)["D1"].stage == 3
    assert replays.stage_changes(info, CITY, T0 + 1000) == []
    assert {a.code for a in replays.areas(info, CITY).areas} == {"C", "D1"}


def test_a_replay_database_is_used_only_as_listed(
    replay_db: tuple[CommonSettings, str, str],
) -> None:
    settings, name, _ = replay_db
    replays = ReplayQueries(lambda: connect(settings))
    evil = replays.replay("evil")
    assert evil is not None
    with pytest.raises(BadReplay):
        replays.events(evil, CITY, T0)
    # A well-formed name that the replays table does not list for this replay.
    forged = ReplayInfo(name, "finished", T0, T0 + 1, "replay_someone_else")
    with pytest.raises(BadReplay):
        replays.events(forged, CITY, T0)


def test_a_failing_server_is_a_query_error(isolated: CommonSettings) -> None:
    replays = ReplayQueries(lambda: connect(isolated, database="cbtest_missing_db"))
    with pytest.raises(QueryError):
        replays.finished()


def test_a_replays_rollups_and_marks_of_an_area_in_scope(
    replay_db: tuple[CommonSettings, str, str],
) -> None:
    settings, name, _ = replay_db
    replays = ReplayQueries(lambda: connect(settings))
    info = replays.replay(name)
    assert info is not None
    tree = replays.areas(info, CITY)
    city = next(a for a in tree.areas if a.level == "city")
    points = replays.rollups(info, CITY, city)
    # Three minutes of two metrics, each the sum of two partitions' newest rows.
    assert [(p.metric, p.count, p.mean) for p in points[:2]] == [
        ("load", 4, 2.0),
        ("water_level", 8, 2.0),
    ]
    assert len(points) == 6 and points[0].window_start == datetime.fromtimestamp(T0 / 1000, UTC)
    assert {m.alert_id for m in replays.marks(info, CITY, city)} == {"m1", "m2"}
    d1 = next(a for a in tree.areas if a.code == "D1")
    assert {m.alert_id for m in replays.marks(info, CITY, d1)} == {"m1"}
    with pytest.raises(ScopeError):
        replays.rollups(info, D2, city)
    with pytest.raises(ScopeError):
        replays.marks(info, D2, d1)
    # A district's viewer reads their district's events and stages only.
    assert {e.district for e in replays.events(info, D2, T0 + 40_000)} == {"D2"}
    assert replays.stage_changes(info, D2, T0 + 10_000) == []
    assert {a.code for a in replays.areas(info, D2).areas} == {"C"}
