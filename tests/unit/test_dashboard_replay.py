"""The replay page: what was active at a moment, stages at a moment, play/pause, routing,
roles and the checks on a replay's database name."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard import ids, router, routes
from dashboard.model import AreaTree
from dashboard.pages import replay as replay_page
from dashboard.replay_queries import BadReplay, ReplayInfo, checked_database
from dashboard.replay_state import (
    ReplayEvent,
    StagePoint,
    active_at,
    advance,
    district_levels,
    stages_at,
    step_ms,
)
from dashboard.routes import Route
from dashboard.scope import Page, Role, Scope
from detectors.contract.city import Area
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
    assert replay_page.play(ids.REPLAY_TICK, 4, 0, 200) == (5, False)


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

    def areas(self, info: ReplayInfo) -> AreaTree:
        square = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0))
        return AreaTree(
            (
                Area("city", "C", "", "City", "城市", square),
                Area("district", "D1", "C", "One", "一区", square),
                Area("district", "D2", "C", "Two", "二区", square),
            )
        )

    def events(self, info: ReplayInfo, until_ms: int) -> list[ReplayEvent]:
        return [e for e in EVENTS if e.ts_ms <= until_ms]

    def stage_changes(self, info: ReplayInfo, until_ms: int) -> list[StagePoint]:
        return [StagePoint("district", "D1", 1500, 3, "flood")]


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
    for output in (ids.REPLAY_MAP, ids.REPLAY_LIST, ids.REPLAY_TICK, ids.REPLAY_SLIDER):
        assert output in wired
