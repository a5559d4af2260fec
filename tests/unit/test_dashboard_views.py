"""Wiring: every page's refresh, the router and the action path, called directly with
FakeQueries and a recording sender, for each role; forged districts, unknown alerts and
actions on resolved alerts answered with a message and nothing sent."""

from __future__ import annotations

import json
from typing import Any

import plotly.graph_objects as go
import pytest
from dash import no_update

from dashboard import router, views
from dashboard.model import QueryError, StageChange
from dashboard.pages import tier
from dashboard.router import PageSettings
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from tests.dashboard_fake import T0_MS, FakeQueries

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
EMERGENCY = Scope(Role.EMERGENCY_STAFF, "", "zhao")
ENGINEER = Scope(Role.ENGINEER, "", "qian")
WALL = Scope(Role.WALL_SCREEN, "", "tv")


def flat(value: Any) -> str:
    """Everything a component tree says, as JSON text."""
    return json.dumps(value, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


@pytest.mark.parametrize(
    ("path", "title"),
    [
        ("/city", "Citybrain"),
        ("/district/D1", "District 1"),
        ("/street/D1-S1", "Street 1.1"),
        ("/grid/D1-S1-G01", "Cell 1.1.1"),
    ],
)
def test_each_tier_fills_every_panel(path: str, title: str) -> None:
    view = views.refresh_tier(FakeQueries(), COMMANDER, path, "", "en")
    assert view.status == []
    assert isinstance(view.map, go.Figure) and title in view.map.layout.title.text
    assert isinstance(view.activity, go.Figure)
    assert "stage" in flat(view.stage)
    assert flat(view.children) and flat(view.alerts) and flat(view.kpis)


def test_a_tier_shows_the_workers_stage_or_derives_one() -> None:
    district = views.refresh_tier(FakeQueries(), COMMANDER, "/district/D1", "", "en")
    # the worker's row ('stage 4: 1 water_level alert in D1'), said in words
    assert "stage 4: 1 water level alert in District 1" in flat(district.stage)
    street = views.refresh_tier(FakeQueries(), COMMANDER, "/street/D1-S2", "", "en")
    assert "stage 2: 1 blue air quality alert in street Street 1.2" in flat(street.stage)
    assert "derived from active alerts" in flat(street.stage)
    chinese = views.refresh_tier(FakeQueries(), COMMANDER, "/district/D1", "", "zh")
    assert "4级：第1区 1 条水位预警" in flat(chinese.stage)
    history = flat(views.refresh_tier(FakeQueries(), COMMANDER, "/city", "", "zh").history)
    assert "5级：城脑市 2 条线路负荷预警" in history and "load" not in history


def test_a_stage_row_in_other_words_is_shown_as_it_is_or_by_the_same_rule() -> None:
    """Rows an older worker wrote in its own words: as they are in English; in another
    language the rule's own reason when its stage agrees."""
    older = [StageChange("district", "D1", 1, 4, 1, "stage 4: 1 orange flood alert in D1")]
    alerts = FakeQueries().area_alerts(COMMANDER, "district", "D1")
    assert tier.current_stage(alerts, older, "D1", "en", {}) == (4, older[0].reason, False)
    stage, reason, derived = tier.current_stage(alerts, older, "区 第1区", "zh", {})
    assert (stage, derived) == (4, False) and reason.startswith("4级：区 第1区")


def test_a_tier_shows_only_its_own_scope() -> None:
    view = views.refresh_tier(FakeQueries(), COMMANDER, "/district/D1", "", "en")
    text = flat(view.alerts)
    assert "D1-S1-G01" in text and "D2-S1-G01" not in text


def test_the_home_address_opens_the_viewers_tier() -> None:
    view = views.refresh_tier(FakeQueries(), OPERATOR_D1, "/", "", "en")
    assert "District 1" in view.map.layout.title.text


@pytest.mark.parametrize("path", ["/district/D2", "/grid/D2-S1-G01", "/street/D3-S1", "/city"])
def test_a_forged_district_is_refused_with_a_message_and_no_data(path: str) -> None:
    view = views.refresh_tier(FakeQueries(), OPERATOR_D1, path, "", "en")
    assert "outside your scope (district D1)" in flat(view.status)
    assert all(part == [] for part in view[1:])


def test_an_unknown_area_or_a_bad_address_says_so() -> None:
    view = views.refresh_tier(FakeQueries(), COMMANDER, "/district/D9", "", "en")
    assert "no district D9" in flat(view.status)
    view = views.refresh_tier(FakeQueries(), COMMANDER, "/grid/D1-S1", "", "en")
    assert "no grid cell D1-S1" in flat(view.status)


def test_a_failing_source_keeps_the_page_and_says_so() -> None:
    view = views.refresh_tier(FakeQueries(error=QueryError("down")), COMMANDER, "/city", "", "en")
    assert "data source unavailable: down" in flat(view.status)
    assert all(part is no_update for part in view[1:])


def test_the_console_lists_the_scope_most_severe_first_and_shows_the_selection() -> None:
    view = views.refresh_console(FakeQueries(), COMMANDER, "?alert=alert-1", "open", "en")
    rows = flat(view.alerts)
    assert rows.index("D2-S1-G01") < rows.index("D1-S1-G01") < rows.index("D1-S1-G02")
    assert "alert-5" not in rows  # resolved: only with "all"
    assert "alert-1" in flat(view.detail) and "crew on the way" in flat(view.trail)
    everything = views.refresh_console(FakeQueries(), COMMANDER, "", "all", "en")
    assert "resolved" in flat(everything.alerts)


@pytest.mark.parametrize(
    ("lang", "headline", "action"),
    [
        ("en", "Flood risk at Cell 1.1.1, District 1: water level 4.2 m, 20 % over the limit "
         "3.5 m.", "First action: Check the river and drainage cameras"),
        ("zh", "第1区1.1.1网格内涝风险：水位 4.2 m，超过限值 3.5 m 20%。",
         "首要处置：查看河道和排水监控"),
    ],
)  # fmt: skip
def test_the_console_explains_each_alert_in_the_viewers_language(
    lang: str, headline: str, action: str
) -> None:
    view = views.refresh_console(FakeQueries(), COMMANDER, "?alert=alert-1", "open", lang)
    assert headline in flat(view.alerts)  # the list's reason column
    detail = flat(view.detail)
    assert headline in detail and action in detail
    since = "自2025-11-26 08:01 UTC起。" if lang == "zh" else "Since 2025-11-26 08:01 UTC."
    assert since in detail


def test_the_console_of_a_district_operator_holds_their_district_only() -> None:
    view = views.refresh_console(FakeQueries(), OPERATOR_D1, "?alert=alert-4", "open", "en")
    assert "D2-S1-G01" not in flat(view.alerts)
    assert "no alert alert-4" in flat(view.detail)
    assert view.trail == []


def test_the_alarm_lists_unacknowledged_orange_and_red_of_the_scope() -> None:
    ids, banner = views.refresh_alarm(FakeQueries(), COMMANDER, "en")
    assert ids == ["alert-4", "alert-1"]
    assert "2 unacknowledged orange/red" in flat(banner)
    ids, banner = views.refresh_alarm(FakeQueries(), OPERATOR_D1, "zh")
    assert ids == ["alert-1"] and "1 条橙色/红色预警未确认" in flat(banner)
    assert views.refresh_alarm(FakeQueries.empty(), COMMANDER, "en") == ([], [])


def _act(
    scope: Scope,
    search: str,
    action: str,
    sender: RecordingSender,
    queries: Any = None,
    assignee: str = "",
    comment: str = "",
) -> str:
    result = views.submit_action(
        queries or FakeQueries(),
        sender,
        scope,
        search,
        action,
        assignee,
        comment,
        "en",
        T0_MS,
        "action-uuid-1",
    )
    return flat(result)


def test_an_allowed_action_is_sent_as_the_contract_says() -> None:
    sender = RecordingSender()
    text = _act(OPERATOR_D1, "?alert=alert-1", "assign", sender, assignee="zhao", comment="go")
    assert "sent: assign on alert-1" in text
    assert sender.sent == [
        {
            "action_id": "action-uuid-1",
            "schema_version": 1,
            "ts": T0_MS,
            "action": "assign",
            "alert_id": "alert-1",
            "actor": "li",
            "role": "district_operator",
            "district": "D1",
            "comment": "go",
            "assignee": "zhao",
        }
    ]


@pytest.mark.parametrize(
    ("scope", "search", "action", "message"),
    [
        (
            OPERATOR_D1,
            "?alert=alert-4",
            "acknowledge",
            "unknown alert alert-4 (or not in your scope)",
        ),
        (COMMANDER, "?alert=no-such-alert", "acknowledge", "unknown alert no-such-alert"),
        (COMMANDER, "?alert=alert-5", "resolve", "already resolved: nothing sent"),
        (COMMANDER, "?alert=alert-2", "acknowledge", "already acknowledged by li: nothing sent"),
        (COMMANDER, "", "acknowledge", "select an alert in the list"),
        (COMMANDER, "?alert=x'--", "acknowledge", "bad alert id"),
        (WALL, "?alert=alert-1", "acknowledge", "role wall_screen may not acknowledge alerts"),
        (ENGINEER, "?alert=alert-1", "resolve", "role engineer may not resolve alerts"),
        (EMERGENCY, "?alert=alert-1", "assign", "role emergency_staff may not assign alerts"),
        (COMMANDER, "?alert=alert-1", "comment", "a comment needs text"),
    ],
)
def test_refused_actions_say_why_and_send_nothing(
    scope: Scope, search: str, action: str, message: str
) -> None:
    sender = RecordingSender()
    assert message in _act(scope, search, action, sender)
    assert sender.sent == []


def test_an_unreachable_kafka_or_clickhouse_is_said_and_nothing_is_sent() -> None:
    down = RecordingSender(error="Kafka did not take the action: timeout")
    assert "Kafka did not take the action" in _act(COMMANDER, "?alert=alert-1", "escalate", down)
    sender = RecordingSender()
    failing = FakeQueries(error=QueryError("ClickHouse down"))
    assert "ClickHouse down" in _act(COMMANDER, "?alert=alert-1", "escalate", sender, failing)
    assert sender.sent == []


def test_cases_sensor_and_quality_refresh() -> None:
    status, listed = views.refresh_cases(FakeQueries(), OPERATOR_D1, "open", "en")
    assert status == [] and "C-1" in flat(listed) and "C-3" not in flat(listed)
    timeline = views.refresh_case(FakeQueries(), COMMANDER, "/case/C-1", "en")
    assert "overdue" in flat(timeline)
    assert "no case C-3" in flat(views.refresh_case(FakeQueries(), OPERATOR_D1, "/case/C-3", "en"))
    sensor = views.refresh_sensor(FakeQueries(), COMMANDER, "/sensor/WAT-0001", None, "en")
    assert sensor.status == [] and "water_level" in sensor.chart.layout.title.text
    refused = views.refresh_sensor(FakeQueries(), OPERATOR_D1, "/sensor/FDR-0001", None, "en")
    assert "no sensor FDR-0001" in flat(refused.status) and refused.chart == []
    status, table = views.refresh_quality(FakeQueries(), OPERATOR_D1, "en", T0_MS)
    assert "water" in flat(table) and "power" not in flat(table)


@pytest.mark.parametrize(
    ("click", "target"),
    [
        ({"points": [{"customdata": "/district/D2"}]}, "/district/D2"),
        ({"points": [{"customdata": "/sensor/WAT-0001?wall=1"}]}, "/sensor/WAT-0001?wall=1"),
        ({"points": [{"customdata": "https://evil.example/"}]}, None),
        ({"points": [{"customdata": "/district/D1'--"}]}, None),
        ({"points": [{"x": 1}]}, None),
        (None, None),
    ],
)
def test_a_map_click_drills_down_to_our_own_addresses_only(
    click: dict[str, Any] | None, target: str | None
) -> None:
    assert views.drill_target(click) == target


SETTINGS = PageSettings(refresh_ms=1500)


@pytest.mark.parametrize(
    ("scope", "path", "expected"),
    [
        (COMMANDER, "/", "tier-page tier-city"),
        (OPERATOR_D1, "/", "tier-page tier-district"),
        (EMERGENCY, "/", "console-page"),
        (ENGINEER, "/", "quality-page"),
        (WALL, "/", "tier-page tier-city"),
        (COMMANDER, "/grid/D1-S1-G01", "tier-page tier-grid"),
        (COMMANDER, "/sensor/WAT-0001", "sensor-page"),
        (COMMANDER, "/case/C-1", "case-page"),
        (COMMANDER, "/overview", "metric-selector"),
    ],
)
def test_the_router_opens_the_page_of_an_address(scope: Scope, path: str, expected: str) -> None:
    header, page, frame = router.render(FakeQueries(), scope, path, "", "en", SETTINGS)
    assert expected in flat(page)
    assert frame == ("wall" if scope.role is Role.WALL_SCREEN else "console")


@pytest.mark.parametrize(
    ("scope", "path", "message"),
    [
        (OPERATOR_D1, "/district/D2", "district D2 is outside your scope (district D1)"),
        (OPERATOR_D1, "/city", "city is outside your scope (district D1)"),
        (OPERATOR_D1, "/sensor/FDR-0001", "no sensor FDR-0001"),
        (EMERGENCY, "/quality", "the role emergency staff may not open this page"),
        (WALL, "/cases", "the role wall screen may not open this page"),
        (COMMANDER, "/district/D9", "no district D9"),
        (COMMANDER, "/district/D1;DROP", "bad address: /district/D1;DROP"),
    ],
)
def test_the_router_refuses_with_a_clear_message(scope: Scope, path: str, message: str) -> None:
    _, page, _ = router.render(FakeQueries(), scope, path, "", "en", SETTINGS)
    assert message in flat(page)
    assert "refusal-message" in flat(page)


def test_wall_mode_is_an_address_option() -> None:
    _, page, frame = router.render(FakeQueries(), COMMANDER, "/city", "?wall=1", "en", SETTINGS)
    assert frame == "wall" and "action-form" not in flat(page)
