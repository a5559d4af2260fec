"""The pages' pure parts: the tier map, the sensor chart, the tables and every label in
both languages."""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

import plotly.graph_objects as go
import pytest
from dash import dcc, html

from dashboard import charts, ids, maps, router, shell, views
from dashboard import layout as overview_layout
from dashboard.components import LEVEL_COLOUR
from dashboard.i18n import LABELS, explain, t
from dashboard.model import AlertRow, AreaTree, CaseList, NotFound, SensorCell
from dashboard.pages import cases as cases_page
from dashboard.pages import catalog as catalog_page
from dashboard.pages import console, quality, tier
from dashboard.pages import sensor as sensor_page
from dashboard.routes import Route
from dashboard.scope import Page, Role, Scope, ScopeError
from detectors.contract.audit import AccessEvent, AccessKind
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location
from detectors.scoring.limits import Band
from tests.dashboard_fake import T0_MS, FakeQueries, walk

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
FAKE = FakeQueries()
TREE = AreaTree(FAKE.areas)


def texts(component: Any) -> list[str]:
    found = []
    for c in walk(component):
        for prop in ("children", "placeholder", "title"):
            value = getattr(c, prop, None)
            if isinstance(value, str):
                found.append(value)
        for option in getattr(c, "options", None) or []:
            if isinstance(option, dict):
                found.append(str(option.get("label")))
    return found


def _map(level: str, code: str, cells: list[SensorCell] | None = None) -> go.Figure:
    area = TREE.get(code)
    assert area is not None
    sensors = FAKE.sensors if level == "grid" else []
    return maps.tier_map(level, area, TREE, FAKE.alerts, cells or [], sensors, "en")


def _fills(fig: go.Figure) -> dict[str, int]:
    """Fill colour -> number of rings in that trace."""
    return {tr.fillcolor: list(tr.x).count(None) for tr in fig.data if tr.fill == "toself"}


def test_the_city_map_colours_districts_and_alerted_cells_by_their_highest_level() -> None:
    fills = _fills(_map("city", "CB"))
    # D1 has an active II (orange) as its highest, D2 a I (red), D3 and D4 nothing.
    assert fills[LEVEL_COLOUR[4]] >= 1 and fills[LEVEL_COLOUR[3]] >= 1
    assert fills[LEVEL_COLOUR[0]] == 2
    # Alerted cells: D1-S1-G01 (II), D1-S1-G02 (III), D1-S2-G01 (IV), D2-S1-G01 (I).
    assert fills[LEVEL_COLOUR[2]] == 1 and fills[LEVEL_COLOUR[1]] == 1


def test_a_district_map_draws_every_cell_and_drills_down_to_its_streets() -> None:
    fig = _map("district", "D1")
    assert sum(_fills(fig).values()) == 4  # D1's four cells, one trace per colour
    labels = next(tr for tr in fig.data if tr.name == "areas")
    assert list(labels.customdata) == ["/street/D1-S1", "/street/D1-S2"]
    assert fig.layout.yaxis.scaleanchor == "x" and fig.layout.uirevision


def test_sensors_are_one_marker_per_cell_sized_by_their_count() -> None:
    cells = [
        SensorCell(f"D1-S1-G0{i}", 120.0 + i / 100, 30.0, n, (("water", n),))
        for i, n in ((1, 400), (2, 100))
    ]
    fig = _map("district", "D1", cells)
    markers = next(tr for tr in fig.data if tr.name == "sensor-cells")
    assert list(markers.customdata) == ["/grid/D1-S1-G01", "/grid/D1-S1-G02"]
    assert markers.marker.size[0] > markers.marker.size[1]
    assert "400 sensors" in markers.hovertext[0]


def test_a_cell_map_draws_its_sensors_one_by_one_linking_to_them() -> None:
    fig = _map("grid", "D1-S1-G01")
    sensors = next(tr for tr in fig.data if tr.name == "sensors")
    assert "/sensor/WAT-0001" in list(sensors.customdata)
    fig.to_json()


def test_a_tile_server_is_an_option_drawing_the_same_traces() -> None:
    fig = maps.with_tiles(_map("district", "D1"), "http://tiles.local/{z}/{x}/{y}.png")
    assert {type(tr).__name__ for tr in fig.data} == {"Scattermap"}
    assert fig.layout.map.layers[0].source == ("http://tiles.local/{z}/{x}/{y}.png",)
    fig.to_json()


def test_the_sensor_chart_draws_readings_alert_spans_limits_and_forecasts() -> None:
    alerts = [a for a in FAKE.alerts if a.source_id == "WAT-0001"]
    bands = [Band(2, None, 3.5), Band(4, None, 4.5)]
    fig = charts.sensor_chart("WAT-0001", "water_level", FAKE.series, alerts, "en", bands)
    names = [tr.name for tr in fig.data]
    assert names == ["readings", "forecast"]
    assert len(fig.data[0].x) == 30
    spans = [s for s in fig.layout.shapes if s.type == "rect"]
    lines = [s for s in fig.layout.shapes if s.type == "line"]
    assert [s.fillcolor for s in spans] == [LEVEL_COLOUR[3], LEVEL_COLOUR[2]]
    assert sorted(s.y0 for s in lines) == [3.5, 4.5]
    assert fig.data[1].y == (4.6, 4.6)  # both water_level alerts forecast 4.6


def test_the_sensor_chart_takes_static_limits_from_the_standards() -> None:
    fig = charts.sensor_chart(
        "ENV-0001", "pm25", [FAKE.series[0].__class__("pm25", T0_MS, 80.0)], [], "en"
    )
    assert sorted(round(s.y0) for s in fig.layout.shapes) == [75, 115, 150, 250]
    empty = charts.sensor_chart("ENV-0001", "no2", FAKE.series, [], "zh")
    assert empty.layout.annotations[0].text == "暂无数据"


def test_the_children_table_rolls_up_what_is_below() -> None:
    area = TREE.get("CB")
    assert area is not None
    cases = CaseList(T0_MS + 45 * 60_000, tuple(FAKE.cases))
    late = tier.overdue_cases(cases)
    assert late == {"C-1", "C-3"}
    table = tier.children_table("city", area, TREE, FAKE.alerts, [], cases, late, {}, "en", False)
    rows = [[texts(td) for td in tr.children] for tr in walk(table) if isinstance(tr, html.Tr)]
    d1 = rows[1]
    assert d1[0] == ["District 1"] and d1[1] == ["D1"]
    assert d1[2] == ["stage 4"] and d1[3] == ["II orange"]
    assert d1[4] == ["3 (2)"]  # three active alerts, two unacknowledged (one resolved is not)
    assert d1[6] == ["2 (1)"]  # two open cases; the manhole cover is past its 10 min


def test_the_alert_list_highlights_unacknowledged_orange_and_red() -> None:
    listed = console.alert_list(FAKE.alerts, "alert-2", "en", False)
    rows = [tr for tr in walk(listed) if isinstance(tr, html.Tr)][1:]
    classes = [getattr(tr, "className", None) for tr in rows]
    assert classes[0] == "alarm status-active"  # alert-1: II, active
    assert classes[1] == "selected status-acknowledged"  # alert-2: III, acknowledged
    assert classes[3] == "alarm status-active"  # alert-4: I, active


UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def _incident_row() -> AlertRow:
    """An incident as the worker stores it: uuid ids, its gravest alert as lead."""
    lead = {
        "source_id": "WAT-0001",
        "metric": "water_level",
        "detector": "seasonal",
        "value": 6.0,
        "expected": 2.0,
        "z": 5.0,
        "category": "condition",
        "level": 3,
    }
    return AlertRow(
        "44cf7ff4-a1db-5808-9c3e-1f2a3b4c5d6e", "incident",
        "44cf7ff4-a1db-5808-9c3e-1f2a3b4c5d6e", "", "incident", WarningLevel.II, "district",
        "active", T0_MS, T0_MS + 60_000, 3, "", "", "spread: to district",
        Location("CB", "D1", "D1-S1", "D1-S1-G01"), "district", "", "",
        {"alerts": 2, "metrics": ["water_level"], "lead": lead},
    )  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "headline"),
    [("en", "Flood risk in District 1: 2 active alerts (water level); the gravest: water "
      "level 6 m, 3 times the usual 2 m (5 σ)."),
     ("zh", "第1区内涝风险：2条活动预警（水位）；最严重：水位 6 m，为常态 2 m 的3倍（5 σ）。")],
)  # fmt: skip
def test_an_incident_is_explained_in_the_console_without_its_id(lang: str, headline: str) -> None:
    incident = _incident_row()
    names = TREE.names(lang)
    listed = console.alert_list([incident], "", lang, False, names)
    spans = [c for c in walk(listed) if getattr(c, "className", None) == "explanation"]
    assert [s.children for s in spans] == [headline]
    shown = html.Div(console.detail(incident, lang, "", names))
    said = next(c for c in walk(shown) if getattr(c, "id", None) == "detail-explanation")
    sentences = texts(said)
    assert sentences[0] == headline and len(sentences) == 3  # what, since, first action
    for sentence in [*sentences, spans[0].title]:
        assert not UUID.search(sentence) and "WAT-0001" not in sentence
    assert incident.alert_id in texts(shown)  # the id stays, as the reference label


def test_the_sensor_page_says_its_alerts_by_explanation_not_by_stored_reason() -> None:
    """Rows stored before explanations could carry 'into <incident uuid>' as reason."""
    old = replace(FAKE.alerts[0], reason="into 44cf7ff4-a1db-5808-9c3e-1f2a3b4c5d6e")
    shown = texts(sensor_page.alerts_table([old], "zh", TREE.names("zh")))
    assert "第1区1.1.1网格内涝风险：水位 4.2 m，超过限值 3.5 m 20%。" in shown
    assert not any(UUID.search(text) for text in shown)


def test_overdue_cases_stand_out_and_come_first() -> None:
    cases = CaseList(T0_MS + 45 * 60_000, tuple(FAKE.cases))
    shown = cases_page.case_list(cases, "open", "en")
    rows = [tr for tr in walk(shown[1]) if isinstance(tr, html.Tr)][1:]
    assert [getattr(r, "className", None) for r in rows] == ["overdue", "overdue", None]
    only = cases_page.case_list(cases, "overdue", "en")
    assert len([tr for tr in walk(only[1]) if isinstance(tr, html.Tr)]) == 3


def test_quality_rows_are_flagged_when_stale_incomplete_or_noisy() -> None:
    now = T0_MS + 30 * 60_000
    table = quality.quality_table(FAKE.quality, now, "en")
    rows = [tr for tr in walk(table) if isinstance(tr, html.Tr)][1:]
    assert [getattr(r, "className", None) for r in rows] == [None, "stale incomplete", "noisy"]
    cells = [texts(td) for td in rows[0].children]
    assert cells[7] == ["95%"] and cells[8] == ["0.52% (6/1146)"]


def test_every_label_has_both_languages() -> None:
    for key, (en, zh) in LABELS.items():
        assert en and zh, key
        assert re.search(r"[\u4e00-\u9fff]", zh), f"{key} has no Chinese"
        assert set(re.findall(r"{(\w+)}", en)) == set(re.findall(r"{(\w+)}", zh)), key


def _pages(lang: str) -> list[Any]:
    area = TREE.get("D1")
    assert area is not None
    return [
        tier.layout("district", area, TREE, COMMANDER, lang, 2000, False),
        console.layout(COMMANDER, lang, 2000, False),
        cases_page.list_layout(lang, 2000),
        cases_page.case_layout("C-1", lang, 2000),
        sensor_page.layout(FAKE.sensors[0], lang, 2000, False),
        quality.layout(lang, 2000, 10),
        html.Div(shell.header(COMMANDER, Route(Page.TIER, "city"), lang)),
        tier.kpis(FAKE.alerts, CaseList(T0_MS, tuple(FAKE.cases)), frozenset(), 3, [], lang),
        tier.alerts_table(FAKE.alerts, lang, False),
        console.detail(FAKE.alerts[0], lang),
        console.trail(FAKE.trail, lang),
        cases_page.case_timeline(FAKE.cases[0], T0_MS, lang),
        quality.quality_table(FAKE.quality, T0_MS, lang),
        catalog_page.layout(lang, 2000, 10),
        views.refresh_catalog(FAKE, COMMANDER, lang, T0_MS + 30 * 60_000)[1],
        tier.stage_history_table(FAKE.stages, lang, {}),
        overview_layout.build_layout(2000, lang=lang),
    ]


def test_in_chinese_no_english_label_is_left() -> None:
    english = {en for en, _ in LABELS.values() if "{" not in en} - {"—"}
    shown = [text for page in _pages("zh") for text in texts(page)]
    leaked = sorted({text for text in shown if text in english})
    assert leaked == []
    assert t("alert_console", "zh") in shown and t("lifecycle", "zh") in shown


def test_every_page_brings_its_own_refresh() -> None:
    refreshes = {c.id for page in _pages("en") for c in walk(page) if isinstance(c, dcc.Interval)}
    assert refreshes == {ids.REFRESH} | {
        ids.TIER_REFRESH,
        ids.CONSOLE_REFRESH,
        ids.CASES_REFRESH,
        ids.CASE_REFRESH,
        ids.SENSOR_REFRESH,
        ids.QUALITY_REFRESH,
        ids.CATALOG_REFRESH,
    }


def test_refusals_are_explained_in_both_languages() -> None:
    refused = ScopeError("district", "D3", "D2")
    assert explain(refused, "en") == "district D3 is outside your scope (district D2)"
    assert explain(refused, "zh") == "区 D3不在您的权限范围内（D2）"
    assert explain(NotFound("sensor", "X-1"), "en") == "no sensor X-1"
    assert explain(ValueError("other"), "zh") == "other"


COMMANDER_LINKS = ["city", "alert console", "cases", "data quality", "data catalog", "scorecard",
                   "overview", "replays", "access audit", "silences"]  # fmt: skip


@pytest.mark.parametrize(
    ("role", "links"),
    [
        (Role.CITY_COMMANDER, COMMANDER_LINKS),
        (Role.ENGINEER, [link for link in COMMANDER_LINKS if link != "access audit"]),
        (Role.EMERGENCY_STAFF, ["city", "alert console", "silences"]),
        (Role.WALL_SCREEN, ["city", "alert console", "scorecard", "overview"]),
    ],
)
def test_the_navigation_offers_the_pages_of_the_role(role: Role, links: list[str]) -> None:
    items = shell.header(Scope(role, "", "u"), Route(Page.ALERTS), "en")
    assert [i.children for i in items if isinstance(i, dcc.Link)] == links


def _access_entries() -> list[AccessEvent]:
    return [
        AccessEvent("e-1", T0_MS, AccessKind.LOGIN_FAILED, "li", "li", "10.0.0.7", "", "",
                    "wrong password or unknown user"),
        AccessEvent("e-2", T0_MS + 1000, AccessKind.LOGIN, "li", "li", "10.0.0.7",
                    "district_operator", "D1", ""),
        AccessEvent("e-3", T0_MS + 2000, AccessKind.USER_DISABLED, "wu", "cli:ops", "",
                    "engineer", "", ""),
    ]  # fmt: skip


def test_the_city_commander_sees_the_access_audit_newest_first_refusals_marked() -> None:
    queries = FakeQueries(access=_access_entries())
    _, page, _ = router.render(queries, COMMANDER, "/access", "", "en", router.PageSettings())
    body = [(_cells(r), getattr(r, "className", None)) for r in _find(page, html.Tr) if _cells(r)]
    assert [cells[1:4] for cells, _ in body] == [
        ["user disabled", "wu", "cli:ops"], ["login", "li", "li"], ["failed login", "li", "li"]
    ]  # fmt: skip
    assert [cls for _, cls in body] == [None, None, "refused"]
    assert body[1][0][5:7] == ["district operator", "D1"]


@pytest.mark.parametrize("role", [Role.DISTRICT_OPERATOR, Role.ENGINEER, Role.EMERGENCY_STAFF])
def test_no_one_but_the_city_commander_opens_the_access_audit(role: Role) -> None:
    queries = FakeQueries(access=_access_entries())
    scope = Scope(role, "D1" if role is Role.DISTRICT_OPERATOR else "", "u")
    _, page, _ = router.render(queries, scope, "/access", "", "en", router.PageSettings())
    assert "may not" in str(page) and "10.0.0.7" not in str(page)


def _find(component: Any, kind: type) -> list[Any]:
    found = [component] if isinstance(component, kind) else []
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found += _find(child, kind)
    return found


def _cells(row: Any) -> list[str]:
    return [str(cell.children) for cell in _find(row, html.Td)]


def test_an_overdue_case_in_the_console_links_its_case_and_says_what_is_late() -> None:
    late = AlertRow(
        "91d248f7-361e-5ba4-b7f1-3d74dc1826ce", "alert", "", "CS-7:dispatched:case", "case",
        WarningLevel.IV, "district", "active", T0_MS, T0_MS + 60_000, 4, "", "",
        "case step dispatched overdue by 31 min: to district",
        Location("CB", "D1", "D1-S1", "D1-S1-G01"), "", "CS-7", "case_overdue",
        {"source_id": "CS-7", "metric": "case_overdue", "case_category": "garbage",
         "step": "dispatched", "due_ms": T0_MS, "limit_min": 30, "late_min": 31,
         "department": ""},
    )  # fmt: skip
    for lang, hazard, headline in (
        ("en", "overdue case", "garbage case waiting to be dispatched, 31 min past its 30 min"),
        ("zh", "案件超时", "垃圾堆放案件待派遣，超时31分钟（时限30分钟）"),
    ):
        listed = texts(console.alert_list([late], "", lang, False, TREE.names(lang)))
        assert any(text.startswith(f"{hazard} · case_overdue · CS-7") for text in listed)
        assert any(headline in text for text in listed)
        shown = html.Div(console.detail(late, lang, "", TREE.names(lang)))
        links = [c.href for c in walk(shown) if getattr(c, "href", None)]
        assert "/case/CS-7" in links and not any(h.startswith("/sensor/") for h in links)
        assert t("case", lang) in texts(shown)
