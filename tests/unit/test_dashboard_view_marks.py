"""Issue 11, items 2 and 6, pure and wired: a sensor page reached from an alert opens on the
alert's metric and says which metrics alert; tier and overview charts mark the area's
alerts and incidents in time; views show the last complete minute and say which; the
address sets the language as the switch does."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta
from typing import Any

import plotly.graph_objects as go
import pytest
from dash import dcc, no_update
from prometheus_client import CollectorRegistry

from dashboard import charts, figures, ids, layout, marks, router, routes, rows, shell, views
from dashboard.app import create_app
from dashboard.audit import MemoryAuditLog
from dashboard.components import LEVEL_COLOUR
from dashboard.model import CaseList, RatePoint
from dashboard.overview import refresh_overview
from dashboard.pages import console, tier
from dashboard.pages import sensor as sensor_page
from dashboard.scope import Page, Role, Scope
from dashboard.sender import RecordingSender
from dashboard.users import MemoryUserStore
from detectors.contract.levels import WarningLevel
from infra.settings import DashboardSettings, load
from tests.dashboard_fake import FAKE_T0, MIN_MS, T0_MS, FakeQueries, walk

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
FAKE = FakeQueries()


def flat(value: Any) -> str:
    return json.dumps(value, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


def hrefs(component: Any) -> list[str]:
    parts = component if isinstance(component, list) else [component]
    return [c.href for part in parts for c in walk(part) if isinstance(c, dcc.Link)]


# Addresses: the metric and the language.


def test_a_sensor_address_carries_the_metric_to_open_on() -> None:
    route = routes.parse("/sensor/ENV-0001", "?metric=pm25&wall=1")
    assert (route.page, route.code, route.metric, route.wall) == (
        Page.SENSOR,
        "ENV-0001",
        "pm25",
        True,
    )
    assert routes.href(route) == "/sensor/ENV-0001?metric=pm25&wall=1"
    assert routes.parse("/sensor/ENV-0001", "").metric == ""
    assert routes.sensor_href("ENV-0001", "pm10") == "/sensor/ENV-0001?metric=pm10"
    assert routes.sensor_href("ENV-0001") == "/sensor/ENV-0001"


@pytest.mark.parametrize("metric", ["pm25'--", "PM25", "a b", "x" * 41])
def test_a_bad_metric_in_an_address_is_an_error(metric: str) -> None:
    route = routes.parse("/sensor/ENV-0001", f"?metric={metric}")
    assert route.error.startswith("bad metric") and route.metric == ""


@pytest.mark.parametrize(
    ("search", "language"),
    [("?lang=zh", "zh"), ("lang=en&wall=1", "en"), ("?wall=1&lang=zh", "zh"), ("?lang=fr", None),
     ("", None), (None, None)],
)  # fmt: skip
def test_the_address_may_ask_for_a_language(search: str | None, language: str | None) -> None:
    assert routes.language(search) == language


def test_the_switch_wins_and_otherwise_the_address_sets_the_language() -> None:
    assert views.choose_language(ids.LANG_ZH, "") == "zh"
    assert views.choose_language(ids.LANG_EN, "?lang=zh") == "en"
    assert views.choose_language(None, "?lang=zh") == "zh"  # the first load of a shared link
    assert views.choose_language(ids.URL, "?lang=en") == "en"
    assert views.choose_language(ids.URL, "?alert=a1") is no_update  # the stored choice holds


# The sensor page opens on the alerting metric and says which metrics alert.


def _env_sensor() -> Any:
    return next(s for s in FAKE.sensors if s.source_id == "ENV-0001")  # metrics pm10, pm25


def test_the_sensor_page_opens_on_the_metric_of_the_address() -> None:
    info = _env_sensor()
    assert info.metrics[0] == "pm10"
    assert sensor_page.opening_metric(info, "pm25") == "pm25"
    assert sensor_page.opening_metric(info, "") == "pm10"
    assert sensor_page.opening_metric(info, "load") == "pm10"  # not this sensor's: its first
    page = sensor_page.layout(info, "en", 2000, False, "pm25")
    selector = next(c for c in walk(page) if getattr(c, "id", None) == ids.SENSOR_METRIC)
    assert selector.value == "pm25"


def test_the_router_passes_the_metric_of_the_address_to_the_sensor_page() -> None:
    _, page, _ = router.render(
        FAKE, COMMANDER, "/sensor/ENV-0001", "?metric=pm25", "en", router.PageSettings()
    )
    selector = next(c for c in walk(page) if getattr(c, "id", None) == ids.SENSOR_METRIC)
    assert selector.value == "pm25"


def test_a_metric_asked_by_the_address_later_is_chosen_if_the_sensor_has_it() -> None:
    assert sensor_page.metric_of_address("?metric=pm25", ["pm10", "pm25"]) == "pm25"
    assert sensor_page.metric_of_address("?metric=load", ["pm10", "pm25"]) is None
    assert sensor_page.metric_of_address("", ["pm10", "pm25"]) is None


def test_the_alerting_metrics_are_the_active_ones_gravest_first() -> None:
    base = FAKE.alerts[2]  # ENV-0001 pm25, IV blue, active
    found = [
        base,
        replace(base, alert_id="x1", metric="pm10", level=WarningLevel.II),
        replace(base, alert_id="x2", metric="no2", status="resolved", level=WarningLevel.I),
        replace(base, alert_id="x3", metric="pm25", status="acknowledged", level=WarningLevel.III),
    ]
    assert sensor_page.alerting_metrics(found) == [
        ("pm10", WarningLevel.II),
        ("pm25", WarningLevel.III),
    ]
    assert sensor_page.alerting_metrics([found[2]]) == []


def test_the_sensor_refresh_says_which_metrics_alert_and_marks_them_in_the_selector() -> None:
    view = views.refresh_sensor(FAKE, COMMANDER, "/sensor/ENV-0001", "pm25", "en")
    said = flat(view.alerting)
    assert "active alerts on" in said and "pm25" in said and "IV blue" in said
    assert "pm10" not in said
    assert "/sensor/ENV-0001?metric=pm25" in hrefs(view.alerting)
    labels = {o["value"]: o["label"] for o in view.options}
    assert "⚠ IV" in labels["pm25"] and "⚠" not in labels["pm10"]
    assert "ENV-0001 · pm25" in view.chart.layout.title.text
    quiet = views.refresh_sensor(FakeQueries(alerts=[]), COMMANDER, "/sensor/ENV-0001", None, "zh")
    assert "该传感器无活动预警" in flat(quiet.alerting)
    assert all("⚠" not in o["label"] for o in quiet.options)


def test_links_from_alerts_open_the_sensor_on_the_alerts_metric() -> None:
    alert = FAKE.alerts[2]  # ENV-0001, pm25
    target = "/sensor/ENV-0001?metric=pm25"
    assert target in hrefs(console.detail(alert, "en"))
    assert target in hrefs(tier.alerts_table([alert], "en", False))
    assert target + "&wall=1" in hrefs(tier.alerts_table([alert], "en", True))
    sensors = tier.sensors_table(FAKE.sensors, FAKE.alerts, "en", False)
    assert target in hrefs(sensors) and "/sensor/WAT-0001?metric=water_level" in hrefs(sensors)
    assert "/sensor/FDR-0001?metric=load" in hrefs(sensors)


def test_the_alarm_banner_opens_the_gravest_alarm_and_its_sensor_on_its_metric() -> None:
    alarms = FAKE.alarms(COMMANDER)  # red FDR-0001 load, then orange WAT-0001
    banner = shell.alarm_banner(alarms, "en")
    assert hrefs(banner) == ["/alerts?alert=alert-4", "/sensor/FDR-0001?metric=load"]
    assert banner[1].children == "sensor FDR-0001 · feeder load"  # the metric in words
    assert shell.alarm_banner(alarms, "zh")[1].children == "传感器 FDR-0001 · 线路负荷"
    assert shell.alarm_banner([], "en") == []


# The last complete minute.


def _minutes(*counts: int) -> list[RatePoint]:
    return [RatePoint(FAKE_T0 + timedelta(minutes=m), n) for m, n in enumerate(counts)]


def test_the_minute_still_filling_up_is_left_out_and_silent_minutes_count_zero() -> None:
    points = [RatePoint(FAKE_T0, 120), RatePoint(FAKE_T0 + timedelta(minutes=2), 120)]
    points.append(RatePoint(FAKE_T0 + timedelta(minutes=3), 4))  # filling up
    complete = figures.complete_minutes(points)
    assert [p.count for p in complete] == [120, 0, 120]
    assert figures.complete_minutes(points[:1]) == points[:1]  # a fresh start: all there is
    assert figures.complete_minutes([]) == []


def test_rate_charts_do_not_dip_at_the_right_edge() -> None:
    points = _minutes(120, 120, 120, 3)
    activity = charts.activity_chart(points, "en")
    assert list(activity.data[0].y) == [120, 120, 120]
    assert activity.data[0].x[-1] == FAKE_T0 + timedelta(minutes=2)
    rate = figures.event_rate_chart(points)
    assert list(rate.data[0].y) == [2.0, 2.0, 2.0]


def test_the_views_say_which_complete_minute_they_show() -> None:
    points = _minutes(120, 120, 5)
    assert layout.complete_minute_text(points) == "last complete minute 08:01 UTC"
    assert layout.complete_minute_text(points, "zh") == "最近完整分钟 08:01 UTC"
    assert layout.complete_minute_text([]) == "no complete minute yet"
    kpis = tier.kpis([], CaseList(0, ()), frozenset(), 3, points, "en")
    said = flat(kpis)
    assert "last complete minute 08:01 UTC" in said and '"120"' in said and '"5"' not in said


def test_the_roll_up_query_reads_up_to_the_last_complete_minute() -> None:
    newest = int(FAKE_T0.timestamp())
    assert rows.last_complete_minute(newest) == newest - 60
    window = rows.complete_window_params("district", newest, 10)
    assert window == {"level": "district", "since": newest - 600, "until": newest - 60}


# Alerts and incidents marked in time.


def test_marks_are_the_alerts_opened_since_the_chart_begins_oldest_first() -> None:
    since = FAKE_T0 + timedelta(minutes=2)
    found = marks.marks_of(FAKE.alerts, since, "en")
    assert [m.at for m in found] == [FAKE_T0 + timedelta(minutes=n) for n in (2, 3, 4, 5)]
    assert [m.rank for m in found] == [2, 1, 4, 2]  # III, IV, I, III
    assert not any(m.incident for m in found)
    first = found[0].text
    assert "III yellow" in first and "water level" in first and "WAT-0001" in first
    assert "acknowledged" in first and "opened 08:02:00 UTC" in first
    assert "发生于 08:02:00 UTC" in marks.marks_of(FAKE.alerts, since, "zh")[0].text
    assert len(marks.marks_of(FAKE.alerts, None, "en")) == 5
    # the worker's reason in the viewer's language, the metric by its name
    scored = replace(FAKE.alerts[0], reason="static scored 0.90")
    [english], [chinese] = (
        marks.marks_of([scored], None, "en"),
        marks.marks_of([scored], None, "zh"),
    )
    assert "limit rule scored 0.90" in english.text and "water_level" not in english.text
    assert "限值规则评分 0.90" in chinese.text and "水位" in chinese.text


def test_an_incident_is_a_diamond_an_alert_a_triangle_coloured_by_level() -> None:
    incident = replace(FAKE.alerts[3], alert_id="inc-1", subject="incident")
    found = marks.marks_of([FAKE.alerts[0], incident], None, "en")
    fig = go.Figure()
    marks.add_marks(fig, found)
    traces = {t.name: t for t in fig.data}
    assert set(traces) == {"alert-lines-3", "alert-marks-3", "incident-lines-4", "incident-marks-4"}
    assert traces["incident-marks-4"].marker.symbol == "diamond"
    assert traces["alert-marks-3"].marker.symbol == "triangle-down"
    assert traces["incident-marks-4"].marker.color == LEVEL_COLOUR[4]
    assert traces["alert-marks-3"].marker.color == LEVEL_COLOUR[3]
    assert "incidents" in traces["incident-marks-4"].hovertext[0]
    assert all(t.yaxis == "y2" for t in fig.data)
    assert fig.layout.yaxis2.overlaying == "y"


def test_the_marks_stand_above_the_charts_own_values() -> None:
    fig = charts.activity_chart(_minutes(100, 120, 80, 3), "en", alerts=FAKE.alerts[:1])
    low, high = fig.layout.yaxis.range
    assert low == 0 and 120 / high == pytest.approx(0.8)  # the marks stand at 0.94
    assert charts.activity_chart(_minutes(100, 120, 3), "en").layout.yaxis.range is None


def test_the_tier_activity_chart_marks_the_areas_alerts() -> None:
    view = views.refresh_tier(FAKE, COMMANDER, "/district/D1", "", "en")
    names = [t.name for t in view.activity.data]
    marked = [t for t in view.activity.data if (t.name or "").startswith("alert-marks")]
    opened = sorted(x for t in marked for x in t.x)
    # D1's alerts 1, 2, 3 and the resolved 5 (D2's red alert 4 is not D1's).
    assert opened == [FAKE_T0 + timedelta(minutes=n) for n in (1, 2, 3, 5)]
    assert "alert-marks-4" not in names


def test_the_overview_marks_the_scopes_alerts_on_the_event_rate() -> None:
    city = refresh_overview(FAKE, COMMANDER, "pm25").event_rate
    assert len([x for t in city.data if (t.name or "").startswith("alert-marks") for x in t.x]) == 5
    mine = refresh_overview(FAKE, OPERATOR_D1, "pm25").event_rate
    texts = [h for t in mine.data if (t.name or "").startswith("alert-marks") for h in t.hovertext]
    assert len(texts) == 4 and not any("FDR-0001" in h for h in texts)


def test_alerts_raised_before_the_chart_are_not_marked() -> None:
    late = FakeQueries(rates=[RatePoint(FAKE_T0 + timedelta(minutes=m), 60) for m in (10, 11, 12)])
    view = views.refresh_tier(late, COMMANDER, "/district/D1", "", "en")
    assert [t.name for t in view.activity.data] == [view.activity.data[0].name]
    assert max(a.opened_ms for a in FAKE.alerts) < T0_MS + 10 * MIN_MS


def test_a_shared_link_asking_for_chinese_logs_in_in_chinese() -> None:
    """Not logged in, /district/D1?lang=zh leads to the login page, in Chinese."""
    settings = load(DashboardSettings, dashboard_secret_key="k" * 32)
    app = create_app(settings, FAKE, CollectorRegistry(), MemoryUserStore(), RecordingSender(),
                     audit=MemoryAuditLog())  # fmt: skip
    client = app.server.test_client()
    moved = client.get("/district/D1?lang=zh")
    assert moved.status_code == 302
    page = client.get(moved.headers["Location"]).get_data(as_text=True)
    assert "用户名" in page and 'name="lang" value="zh"' in page
    english = client.get("/login?next=/district/D1").get_data(as_text=True)
    assert "username" in english and "用户名" not in english
