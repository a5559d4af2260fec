"""Every query of the command center against the real ClickHouse, over the seeded data
set: the answers, the scope filter (a district operator gets their district only, and a
forged district is refused), the newest version of each alert, the users table and the
actions topic on the real Kafka."""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace

import pytest
from kafka import KafkaConsumer

from dashboard.model import ALERT_STATUSES, NotFound
from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope, ScopeError
from dashboard.sender import KafkaActionSender
from dashboard.users import ClickHouseUserStore, authenticate, make_user
from detectors.contract.levels import WarningLevel
from infra.clickhouse import connect, drop_database, ensure_schema
from infra.kafka import delete_topics
from infra.settings import CommonSettings, load
from infra.topics import alert_actions_topic
from tests.browser.seed import ALERT_COLUMNS, Seeded, alert_row, insert, seed

pytestmark = pytest.mark.integration

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
OPERATOR_D2 = Scope(Role.DISTRICT_OPERATOR, "D2", "zhao")


@pytest.fixture(scope="module")
def world(services: CommonSettings) -> Iterator[tuple[CommonSettings, Seeded]]:
    tag = uuid.uuid4().hex[:10]
    settings = load(
        type(services), clickhouse_database=f"cbtest_{tag}", kafka_topic_prefix=f"cbtest-{tag}"
    )
    ensure_schema(settings)
    yield settings, seed(settings, int(time.time() // 60 * 60_000))
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        drop_database(settings, settings.clickhouse_database)


@pytest.fixture(scope="module")
def queries(world: tuple[CommonSettings, Seeded]) -> ClickHouseQueries:
    settings = world[0]
    return ClickHouseQueries(lambda: connect(settings), tree_ttl_s=0)


@pytest.fixture(scope="module")
def seeded(world: tuple[CommonSettings, Seeded]) -> Seeded:
    return world[1]


def test_the_area_tree_holds_the_scope_only(queries: ClickHouseQueries, seeded: Seeded) -> None:
    everything = queries.area_tree(COMMANDER)
    assert len(everything.areas) == len(seeded.city.areas)
    mine = queries.area_tree(OPERATOR_D1)
    assert {a.code for a in mine.of_level("district")} == {"D1"}
    assert {a.code for a in mine.of_level("city")} == {"CB"}
    assert all(mine.district_of(a.code) == "D1" for a in mine.areas if a.level != "city")
    assert len(mine.of_level("grid")) == 48


@pytest.mark.parametrize(
    ("scope", "level", "code", "error"),
    [
        (OPERATOR_D1, "district", "D2", "district D2 is outside your scope (district D1)"),
        (OPERATOR_D1, "street", "D2-S1", "street D2-S1 is outside your scope (district D1)"),
        (OPERATOR_D1, "grid", "D3-S1-G01", "grid D3-S1-G01 is outside your scope"),
        (OPERATOR_D1, "city", "", "city is outside your scope (district D1)"),
    ],
)
def test_a_forged_area_is_refused_by_every_area_query(
    queries: ClickHouseQueries, scope: Scope, level: str, code: str, error: str
) -> None:
    calls = [
        lambda: queries.area(scope, level, code),
        lambda: queries.area_alerts(scope, level, code),
        lambda: queries.sensor_cells(scope, level, code),
        lambda: queries.stage_history(scope, level, code),
        lambda: queries.area_rate(scope, level, code),
        lambda: queries.area_cases(scope, level, code),
    ]
    if level == "grid":
        calls.append(lambda: queries.cell_sensors(scope, code))
    for call in calls:
        with pytest.raises(ScopeError, match=error.replace("(", r"\(").replace(")", r"\)")):
            call()


@pytest.mark.parametrize("code", ["D9", "D1' OR 1=1 --", "D1\\'; DROP TABLE users; --"])
def test_an_unknown_or_injected_area_is_not_found(queries: ClickHouseQueries, code: str) -> None:
    with pytest.raises(NotFound):
        queries.area_alerts(COMMANDER, "district", code)
    assert queries.area_tree(COMMANDER).get("D1") is not None  # users and areas still there


def test_area_alerts_are_the_active_ones_gravest_first(
    queries: ClickHouseQueries, seeded: Seeded
) -> None:
    city = queries.area_alerts(COMMANDER, "city", "CB")
    assert [a.alert_id for a in city][:4] == [
        "alert-red-d1",
        "alert-orange-d2",
        "alert-yellow-d1",
        "alert-blue-d1",
    ]
    assert all(a.active for a in city)
    d1 = queries.area_alerts(COMMANDER, "district", "D1")
    assert {a.alert_id for a in d1} == {"alert-red-d1", "alert-yellow-d1", "alert-blue-d1"}
    grid = queries.area_alerts(OPERATOR_D1, "grid", seeded.grid)
    assert [(a.alert_id, a.level, a.place.street) for a in grid] == [
        ("alert-red-d1", WarningLevel.I, "D1-S1")
    ]
    assert grid[0].evidence["forecast_ts_ms"] == seeded.now_ms + 20 * 60_000
    everything = queries.area_alerts(COMMANDER, "city", "CB", ALERT_STATUSES)
    assert "alert-resolved-d3" in {a.alert_id for a in everything}


def test_the_newest_version_of_an_alert_wins(
    world: tuple[CommonSettings, Seeded], queries: ClickHouseQueries
) -> None:
    settings, seeded = world
    where = ("CB", "D4", "D4-S1", "D4-S1-G01")
    row = alert_row("alert-versions", WarningLevel.II, "active", where, "X", "pm25", seeded.now_ms)
    insert(settings, "alerts_current", ALERT_COLUMNS, [row])
    acked = alert_row(
        "alert-versions",
        WarningLevel.II,
        "acknowledged",
        where,
        "X",
        "pm25",
        seeded.now_ms,
        version=2,
        acknowledged_by="wang",
    )
    insert(settings, "alerts_current", ALERT_COLUMNS, [acked])
    assert [a.alert_id for a in queries.alarms(COMMANDER)] == ["alert-red-d1", "alert-orange-d2"]
    current = queries.alert(COMMANDER, "alert-versions")
    assert current is not None and (current.status, current.version) == ("acknowledged", 2)
    active_only = queries.console_alerts(COMMANDER, ("active",))
    assert "alert-versions" not in {a.alert_id for a in active_only}


def test_the_console_alarms_and_trail_keep_to_the_scope(
    queries: ClickHouseQueries, seeded: Seeded
) -> None:
    mine = queries.console_alerts(OPERATOR_D1, ALERT_STATUSES)
    assert {a.place.district for a in mine} == {"D1"}
    assert [a.alert_id for a in queries.alarms(OPERATOR_D1)] == ["alert-red-d1"]
    assert queries.alert(OPERATOR_D1, seeded.d2_alert) is None
    assert queries.alert_trail(OPERATOR_D1, seeded.d2_alert) == []
    trail = queries.alert_trail(COMMANDER, seeded.resolved_alert)
    assert [(e.kind, e.actor, e.comment) for e in trail] == [
        ("raised", "", ""),
        ("resolved", "commander", "feeder switched"),
    ]


def test_sensors_are_counted_per_cell_on_the_server(
    queries: ClickHouseQueries, seeded: Seeded
) -> None:
    expected = Counter(s.location.grid for s in seeded.city.sources if s.family.value != "case")
    cells = queries.sensor_cells(COMMANDER, "city", "CB")
    assert {c.grid: c.sensors for c in cells} == dict(expected)
    d1 = queries.sensor_cells(OPERATOR_D1, "district", "D1")
    assert {c.grid for c in d1} == {g for g in expected if g.startswith("D1-")}
    one = queries.cell_sensors(OPERATOR_D1, seeded.grid)
    assert [s.source_id for s in one] == sorted(
        s.source_id
        for s in seeded.city.sources
        if s.location.grid == seeded.grid and s.family.value != "case"
    )


def test_stages_their_history_and_the_latest_per_child(queries: ClickHouseQueries) -> None:
    history = queries.stage_history(OPERATOR_D1, "district", "D1")
    assert [(s.stage, s.previous) for s in history] == [(5, 3), (3, 1)]
    latest = queries.latest_stages(OPERATOR_D1, "district", ["D1", "D2"])
    assert set(latest) == {"D1"} and latest["D1"].stage == 5
    assert set(queries.latest_stages(COMMANDER, "district", ["D1", "D2"])) == {"D1", "D2"}


def test_the_activity_of_an_area_per_minute(queries: ClickHouseQueries, seeded: Seeded) -> None:
    rate = queries.area_rate(OPERATOR_D1, "grid", seeded.grid, minutes=30)
    assert len(rate) == 30 and {p.count for p in rate} == {42}
    assert queries.area_rate(COMMANDER, "grid", "D6-S1-G01") == []


def test_cases_of_the_scope_with_their_steps(queries: ClickHouseQueries, seeded: Seeded) -> None:
    city = queries.area_cases(COMMANDER, "city", "CB")
    assert {c.case_id for c in city.cases} == {"C-OVERDUE", "C-ONTIME", "C-D2"}
    assert city.now_ms == seeded.now_ms - 10 * 60_000  # the newest case event
    assert queries.case_clock(COMMANDER) == city.now_ms
    assert queries.case_clock(OPERATOR_D2) == seeded.now_ms - 50 * 60_000
    everything = queries.area_cases(COMMANDER, "city", "CB", open_only=False)
    assert "C-DONE" in {c.case_id for c in everything.cases}
    mine = queries.area_cases(OPERATOR_D1, "district", "D1")
    assert {c.case_id for c in mine.cases} == {"C-OVERDUE", "C-ONTIME"}
    done = queries.case(COMMANDER, "C-DONE")
    assert done is not None and list(done.steps) == [
        "filed",
        "dispatched",
        "accepted",
        "handled",
        "verified",
        "closed",
        "evaluated",
    ]
    assert queries.case(OPERATOR_D1, "C-D2") is None


def test_a_sensors_readings_and_alerts(queries: ClickHouseQueries, seeded: Seeded) -> None:
    info = queries.sensor(OPERATOR_D1, seeded.sensor)
    assert info is not None and info.metrics == ("pipe_level",) and info.place.grid == seeded.grid
    series = queries.sensor_series(OPERATOR_D1, seeded.sensor, hours=1)
    assert len(series) == 61 and series[-1].ts_ms == seeded.now_ms - 60_000
    assert series[-1].value == pytest.approx(40.0 + 55.0 * 79 / 80)
    alerts = queries.sensor_alerts(OPERATOR_D1, seeded.sensor, series[0].ts_ms)
    assert [a.alert_id for a in alerts] == ["alert-red-d1"]
    assert queries.sensor(OPERATOR_D2, seeded.sensor) is None
    assert queries.sensor_series(OPERATOR_D2, seeded.sensor) == []


def test_data_quality_per_family_and_district(queries: ClickHouseQueries, seeded: Seeded) -> None:
    rows = {(q.family, q.district): q for q in queries.data_quality(COMMANDER)}
    water = rows[("water", "D1")]
    expected = sum(
        len(s.metrics) * 60 / s.cadence_s
        for s in seeded.city.sources
        if s.family.value == "water" and s.location.district == "D1"
    )
    assert water.sources > 0 and water.expected_per_min == pytest.approx(expected)
    # The seed holds 60 minutes; the newest one may still fill up, so 59 count.
    assert water.received_per_min == 12.0 and water.valid_1h == 12 * 59
    assert water.dead_1h == 3 and rows[("water", "D2")].dead_1h == 3
    assert rows[("water", "")].dead_1h == 1  # bad JSON: no district to blame
    assert rows[("power", "D1")].received_per_min == 0.0 and rows[("power", "D1")].last_ms == 0
    mine = queries.data_quality(OPERATOR_D1)
    assert {q.district for q in mine} == {"D1"}


def test_the_overview_keeps_to_the_scope(queries: ClickHouseQueries) -> None:
    shapes = queries.district_shapes(OPERATOR_D1)
    assert [d.code for d in shapes.districts] == ["D1"] and shapes.city is not None
    assert {r.district for r in queries.latest_district_rollups(OPERATOR_D1)} == {"D1"}
    assert {r.district for r in queries.latest_district_rollups(COMMANDER)} == {
        "D1",
        "D2",
        "D3",
        "D4",
        "D5",
        "D6",
    }
    assert [p.count for p in queries.event_rate(OPERATOR_D1, minutes=2)] == [42, 42]
    assert queries.dead_letter_counts(OPERATOR_D1).total == 3
    assert queries.dead_letter_counts(COMMANDER).total == 7


def test_users_are_kept_hashed_and_the_newest_change_wins(
    world: tuple[CommonSettings, Seeded],
) -> None:
    settings = world[0]
    store = ClickHouseUserStore(lambda: connect(settings))
    user = make_user("li", "district_operator", "D1", "first-password", 1_764_000_000)
    store.put(user)
    store.put(replace(user, disabled=True))  # the same second: still the newer row
    stored = store.get("li")
    assert stored is not None and stored.disabled and stored.updated_at == 1_764_000_001
    assert authenticate(store, "li", "first-password") is None
    client = connect(settings)
    try:
        raw = client.execute("SELECT password_hash FROM users")
    finally:
        client.disconnect()
    assert all(h.startswith("scrypt:") and "first-password" not in h for (h,) in raw)
    assert [u.username for u in store.all()] == ["li"]


def test_an_action_reaches_the_actions_topic_keyed_by_the_alert(
    world: tuple[CommonSettings, Seeded],
) -> None:
    settings = world[0]
    topic = alert_actions_topic(settings.kafka_topic_prefix)
    sender = KafkaActionSender(settings)
    message = {
        "action_id": "a-1",
        "schema_version": 1,
        "ts": 1,
        "action": "comment",
        "alert_id": "alert-red-d1",
        "actor": "wang",
        "role": "city_commander",
        "district": "",
        "comment": "水位上涨",
    }
    try:
        sender.send(message)
    finally:
        sender.close()
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
    )
    try:
        record = next(iter(consumer))
    finally:
        consumer.close()
        delete_topics(settings, [topic])
    assert record.key == b"alert-red-d1" and json.loads(record.value) == message


def test_an_areas_marks_are_its_alerts_and_incidents_raised_since_in_any_status(
    world: tuple[CommonSettings, Seeded], queries: ClickHouseQueries
) -> None:
    settings, seeded = world
    minute = 60_000
    incident = alert_row(
        "incident-d1-marks",
        WarningLevel.III,
        "active",
        ("CB", "D1", "", ""),
        "",
        "",
        seeded.now_ms - 5 * minute,
        subject="incident",
    )
    insert(settings, "alerts_current", ALERT_COLUMNS, [incident])
    # The seeded D1 alerts were raised 40, 35 and 32 minutes ago; newest first.
    recent = queries.area_marks(COMMANDER, "district", "D1", seeded.now_ms - 36 * minute)
    assert [(a.alert_id, a.subject) for a in recent] == [
        ("incident-d1-marks", "incident"),
        ("alert-blue-d1", "alert"),
        ("alert-yellow-d1", "alert"),
    ]
    assert recent[-1].status == "acknowledged"
    everything = queries.area_marks(COMMANDER, "city", "CB", seeded.now_ms - 120 * minute)
    assert {"alert-resolved-d3", "alert-red-d1", "incident-d1-marks"} <= {
        a.alert_id for a in everything
    }
    mine = queries.area_marks(OPERATOR_D1, "district", "D1", 0)
    assert {a.place.district for a in mine} == {"D1"}
    with pytest.raises(ScopeError):
        queries.area_marks(OPERATOR_D1, "district", "D2", 0)
    assert queries.area_marks(COMMANDER, "street", seeded.street, seeded.now_ms) == []
