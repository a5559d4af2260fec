"""The replay page: what was active at a moment, stages at a moment, play/pause, routing,
roles and the checks on a replay's database name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from dash import no_update

from dashboard import ids, router, routes
from dashboard.i18n import t
from dashboard.marks import MOMENT_NAME
from dashboard.model import AlertRow, AreaTree, RollupPoint
from dashboard.pages import replay as replay_page
from dashboard.replay_queries import BadReplay, ReplayInfo, checked_database
from dashboard.replay_state import (
    ReplayEvent,
    StagePoint,
    active_at,
    advance,
    chart_area,
    chart_metric,
    district_levels,
    family_rates,
    stages_at,
    step_ms,
)
from dashboard.routes import Route
from dashboard.scope import Page, Role, Scope
from detectors.contract.city import Area
from detectors.contract.levels import WarningLevel
from detectors.contract.places import location_of
from tests.dashboard_fake import FakeQueries

EVENTS = [
    ReplayEvent(1000, "raised", "a1", level_rank=2, category="flood", district="D1", grid="G1"),
    ReplayEvent(2000, "raised", "a2", level_rank=1, category="air", district="D2"),
    ReplayEvent(2500, "escalated", "a1", level_rank=4, district="D1"),
    ReplayEvent(3000, "cleared", "a1", district="D1"),
    ReplayEvent(3500, "acknowledged", "a2", district="D2"),
    ReplayEvent(4000, "resolved", "a2", district="D2"),
    ReplayEvent(4500, "raised", "", incident_id="i1", level_rank=3, district="D2"),
]


def _minute(m: int) -> datetime:
    return datetime(2026, 1, 1, 12, tzinfo=UTC) + timedelta(minutes=m)


def _walk(component: Any) -> list[Any]:
    found = [component]
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found.extend(_walk(child))
    return found


@pytest.mark.parametrize(
    ("t_ms", "expected"),
    [
        (999, []),
        (1000, [("a1", 2)]),
        (2000, [("a1", 2), ("a2", 1)]),
        (2700, [("a1", 4), ("a2", 1)]),
        (3000, [("a2", 1)]),
        (3999, [("a2", 1)]),
        (4000, []),
        (9000, [("i1", 3)]),
    ],
)
def test_an_alert_is_active_from_raised_until_cleared_or_resolved(
    t_ms: int, expected: list[tuple[str, int]]
) -> None:
    # The order of the events as read does not matter.
    active = active_at(list(reversed(EVENTS)), t_ms)
    assert [(a.alert_id, a.level_rank) for a in active] == expected


def test_each_district_takes_its_highest_active_level() -> None:
    active = active_at(EVENTS, 2700)
    assert district_levels(active) == {"D1": 4, "D2": 1}
    assert active[0].where == "G1" and active[0].since_ms == 1000


def test_a_district_stage_is_its_newest_change_at_or_before_the_moment() -> None:
    changes = [
        StagePoint("district", "D1", 2000, 3, "flood"),
        StagePoint("district", "D1", 1000, 2, "rain"),
        StagePoint("district", "D1", 5000, 4, "later"),
        StagePoint("street", "D2", 500, 5, "not a district"),
    ]
    stages = stages_at(changes, ["D1", "D2"], 2500)
    assert {code: s.stage for code, s in stages.items()} == {"D1": 3, "D2": 1}
    assert stages_at(changes, ["D1"], 999)["D1"].stage == 1
    assert stages_at(changes, ["D1"], 1000)["D1"].reason == "rain"


def test_a_tick_advances_by_a_step_and_stops_at_the_end() -> None:
    assert step_ms(0, 200_000) == 1000
    assert step_ms(5, 5) == 1
    assert advance(None, 0, 200_000) == (1000, False)
    assert advance(199_500, 0, 200_000) == (200_000, True)
    assert replay_page.play(ids.REPLAY_PAUSE, 5, 0, 10) == (None, True)
    assert replay_page.play(ids.REPLAY_PLAY, 10, 0, 10) == (0, False)  # replays from the start
    assert replay_page.play(ids.REPLAY_PLAY, 4, 0, 10) == (4, False)
    # A tick leaves the clock as it is (a pause may have stopped it meanwhile) until the end.
    assert replay_page.play(ids.REPLAY_TICK, 4, 0, 200) == (5, None)
    assert replay_page.play(ids.REPLAY_TICK, 199, 0, 200) == (200, True)


def test_replay_addresses() -> None:
    assert routes.parse("/replay", "") == Route(Page.REPLAY)
    assert routes.parse("/replay/storm_1", "") == Route(Page.REPLAY, code="storm_1")
    assert routes.href(Route(Page.REPLAY, code="storm_1")) == "/replay/storm_1"
    assert routes.href(Route(Page.REPLAY)) == "/replay"
    assert routes.parse("/replay/a;DROP", "").error
    assert routes.parse("/replay/a/b", "").error


@pytest.mark.parametrize(
    ("role", "district", "allowed"),
    [
        (Role.ENGINEER, "", True),
        (Role.CITY_COMMANDER, "", True),
        (Role.DISTRICT_OPERATOR, "D1", False),
        (Role.EMERGENCY_STAFF, "", False),
        (Role.WALL_SCREEN, "", False),
    ],
)
def test_only_engineers_and_the_city_commander_open_replays(
    role: Role, district: str, allowed: bool
) -> None:
    settings = router.PageSettings()
    for path in ("/replay", "/replay/storm_1"):
        _, page, _ = router.render(
            FakeQueries(), Scope(role, district, "u"), path, "", "en", settings
        )
        found = {getattr(c, "id", None) for c in _walk(page)}
        assert (ids.REPLAY_SLIDER in found or ids.REPLAY_LIST in found) is allowed
    refused = replay_page.moment(None, Scope(Role.DISTRICT_OPERATOR, "D1"), "x", 0, "en")
    assert "not permitted" in str(refused[1])


class _Replays:
    """A stand-in for ReplayQueries."""

    def __init__(self, info: ReplayInfo | None) -> None:
        self.info = info

    def finished(self) -> list[ReplayInfo]:
        return [self.info] if self.info else []

    def replay(self, name: str) -> ReplayInfo | None:
        return self.info if self.info and self.info.name == name else None

    def areas(self, info: ReplayInfo, scope: Scope) -> AreaTree:
        square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
        return AreaTree(
            (
                Area("city", "C", "", "City", "城市", square),
                Area("district", "D1", "C", "One", "一区", square),
                Area("district", "D2", "C", "Two", "二区", square),
            )
        )

    def events(self, info: ReplayInfo, scope: Scope, until_ms: int) -> list[ReplayEvent]:
        return [e for e in EVENTS if e.ts_ms <= until_ms]

    def stage_changes(self, info: ReplayInfo, scope: Scope, until_ms: int) -> list[StagePoint]:
        return [StagePoint("district", "D1", 1500, 3, "flood")]

    def rollups(self, info: ReplayInfo, scope: Scope, area: Area) -> list[RollupPoint]:
        self.charted = area.code
        return [
            RollupPoint(_minute(m), family, metric, n + m, 2.0 * (n + m), 1.0, 3.0)
            for m in range(5)
            for family, metric, n in (("water", "water_level", 4), ("environment", "pm25", 10))
        ]

    def marks(self, info: ReplayInfo, scope: Scope, area: Area) -> list[AlertRow]:
        where = location_of("D1-S1-G01", city="C")
        return [AlertRow("a1", "alert", "", "k", "condition", WarningLevel.II, "grid", "cleared",
                         int(_minute(2).timestamp() * 1000), 0, 1, "", "", "drains full", where,
                         "", "WAT-0001", "pipe_level")]  # fmt: skip


ENGINEER = Scope(Role.ENGINEER, "", "eng")
INFO = ReplayInfo("storm", "finished", 1000, 5000, "replay_storm")


def test_the_moment_shows_the_map_alerts_and_stages() -> None:
    replays: Any = _Replays(INFO)
    figure, alerts, stages, label = replay_page.moment(replays, ENGINEER, "storm", 2700, "en")
    fills = {trace.name for trace in figure.data}
    assert "level-4" in fills and "level-1" in fills
    assert "flood" in str(alerts) and "air" in str(alerts)
    assert "One" in str(stages) and "flood" in str(stages)
    assert label
    low, high, value, status = replay_page.setup(replays, ENGINEER, "storm", "en")
    assert (low, high, value) == (1000, 5000, 1000)
    assert "storm" in str(replay_page.list_view(replays, ENGINEER, "en"))


def test_an_unknown_replay_says_so() -> None:
    replays: Any = _Replays(INFO)
    _, message, _, _ = replay_page.moment(replays, ENGINEER, "nope", 2000, "en")
    assert "no finished replay named nope" in str(message)
    assert "no finished replay named nope" in str(
        replay_page.setup(replays, ENGINEER, "nope", "en")
    )
    assert "no finished replays" in str(replay_page.list_view(_Replays(None), ENGINEER, "en"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "database", ["live", "replay_", "replay_X", "replay_a;DROP", "replay_a.b", "replay_" + "a" * 41]
)
def test_a_replay_database_must_look_like_one(database: str) -> None:
    with pytest.raises(BadReplay):
        checked_database(ReplayInfo("a", "finished", 0, 1, database))
    assert checked_database(ReplayInfo("a", "finished", 0, 1, "replay_a_1")) == "replay_a_1"


def test_the_app_wires_the_replay_page() -> None:
    from prometheus_client import CollectorRegistry

    from dashboard.app import create_app
    from dashboard.audit import MemoryAuditLog
    from dashboard.sender import RecordingSender
    from dashboard.users import demo_store
    from infra.settings import DashboardSettings, load

    settings = load(DashboardSettings, dashboard_secret_key="test-secret")
    app = create_app(
        settings,
        FakeQueries(),
        CollectorRegistry(),
        users=demo_store(),
        sender=RecordingSender(),
        audit=MemoryAuditLog(),
    )
    wired = " ".join(app.callback_map)
    for output in (ids.REPLAY_MAP, ids.REPLAY_LIST, ids.REPLAY_TICK, ids.REPLAY_SLIDER,
                   ids.REPLAY_ACTIVITY, ids.REPLAY_ROLLUP, ids.REPLAY_METRIC):  # fmt: skip
        assert output in wired


def _ms(m: int) -> int:
    return int(_minute(m).timestamp() * 1000)


CHARTED = ReplayInfo("storm", "finished", _ms(0), _ms(5), "replay_storm")


def _rollup(m: int, family: str, metric: str, n: int) -> RollupPoint:
    return RollupPoint(_minute(m), family, metric, n, 1.5 * n, 1.0, 2.0)


def test_events_per_minute_are_summed_over_metrics_in_all_and_per_family() -> None:
    points = [
        _rollup(1, "water", "rainfall", 3),
        _rollup(0, "water", "water_level", 2),
        _rollup(0, "water", "rainfall", 5),
        _rollup(0, "environment", "pm25", 7),
        _rollup(2, "environment", "pm25", 1),
    ]
    total, families = family_rates(points)
    assert [(p.window_start, p.count) for p in total] == [
        (_minute(0), 14), (_minute(1), 3), (_minute(2), 1)
    ]  # fmt: skip
    assert list(families) == ["environment", "water"]
    assert [p.count for p in families["water"]] == [7, 3]
    assert [p.count for p in families["environment"]] == [7, 1]
    assert family_rates([]) == ([], {})


def test_the_metric_charted_is_the_one_asked_for_else_the_default_else_the_first() -> None:
    points = [_rollup(0, "water", "water_level", 1), _rollup(0, "power", "load", 1),
              _rollup(0, "environment", "pm25", 1)]  # fmt: skip
    listed = ["pm25", "water_level", "load"]  # the catalogue's order
    assert chart_metric(points, "load", "pm25") == ("load", listed)
    assert chart_metric(points, "speed", "pm25") == ("pm25", listed)
    assert chart_metric(points[:2], None, "pm25") == ("water_level", ["water_level", "load"])
    assert chart_metric([], "pm25", "pm25") == ("", [])


def test_the_charts_show_the_city_or_the_viewers_district() -> None:
    tree = _Replays(INFO).areas(INFO, ENGINEER)
    assert chart_area(tree, ENGINEER) == tree.areas[0]
    assert chart_area(tree, Scope(Role.ENGINEER, "D2", "e")) == tree.areas[2]
    assert chart_area(tree, Scope(Role.ENGINEER, "D9", "e")) is None


def _shapes(figure: Any) -> list[Any]:
    return [s for s in figure.layout.shapes if s.name == MOMENT_NAME]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_charts_show_the_replays_rollups_its_alerts_and_the_moment(lang: str) -> None:
    replays: Any = _Replays(CHARTED)
    activity, rollup, options, shown = replay_page.charts(
        replays, ENGINEER, "storm", "water_level", _ms(3), lang
    )
    assert replays.charted == "C"
    assert shown == "water_level"
    assert [o["value"] for o in options] == ["pm25", "water_level"]
    names = [trace.name for trace in activity.data]
    assert t("family_water", lang) in names and t("family_environment", lang) in names
    total = activity.data[0]
    # Five minutes of 14 + 2m events; the newest minute is dropped as it is on the tier page.
    assert list(total.y) == [14, 16, 18, 20]
    assert any(n.startswith("alert-marks-3") for n in names)  # II orange, at minute 2
    mean = next(trace for trace in rollup.data if trace.name == t("rollup_mean", lang))
    assert list(mean.y) == [2.0] * 5
    assert "water_level (m)" in rollup.layout.title.text
    for figure in (activity, rollup):
        (line,) = _shapes(figure)
        assert line.x0 == _minute(3) and line.x1 == _minute(3)
        assert "12:03:00" in line.label.text
    # A moment outside the replay is shown at its nearest end.
    late = replay_page.charts(replays, ENGINEER, "storm", None, _ms(99), lang)[0]
    assert _shapes(late)[0].x0 == _minute(5)
    assert ("回放时刻" if lang == "zh" else "replay at") in _shapes(rollup)[0].label.text


def test_the_charts_follow_the_viewers_district_and_refuse_others() -> None:
    replays: Any = _Replays(CHARTED)
    replay_page.charts(replays, Scope(Role.ENGINEER, "D2", "e"), "storm", None, None, "en")
    assert replays.charted == "D2"
    activity, rollup, options, _ = replay_page.charts(
        replays, Scope(Role.DISTRICT_OPERATOR, "D1", "o"), "storm", None, None, "en"
    )
    assert options == [] and not activity.layout.shapes and not rollup.data
    _, _, options, _ = replay_page.charts(replays, ENGINEER, "nope", None, None, "en")
    assert options == []


def test_seeking_moves_only_the_moment_line() -> None:
    moment_ms = _ms(4)
    activity, rollup = replay_page.move_moment(moment_ms, [{"value": "pm25"}], "en")
    for patch in (activity, rollup):
        (operation,) = patch.to_plotly_json()["operations"]
        assert operation["location"] == ["layout", "shapes"]
        (line,) = operation["params"]["value"]
        assert line["name"] == MOMENT_NAME and line["x0"] == _minute(4)
    assert replay_page.move_moment(None, [{"value": "pm25"}], "en") == (no_update, no_update)
    assert replay_page.move_moment(moment_ms, [], "en") == (no_update, no_update)
