"""The /scorecard page over the fake queries: the five scores of an area's latest complete
minute with their components and formulas in the page's language, the trends, the areas
below and the worst cells, drilling down a tier and from a cell to its sensors and cases;
a district operator kept to their district; wall-screen mode; a failing source."""

from __future__ import annotations

import doctest
import time
from typing import Any

import plotly.graph_objects as go
import pytest
from dash import dcc, html, no_update

from dashboard import model, router, routes, shell, sql, views
from dashboard.i18n import LABELS, t
from dashboard.model import AreaTree, QueryError
from dashboard.pages import scorecard
from dashboard.routes import Route
from dashboard.scope import Page, Role, Scope
from detectors.contract.indicators import INDICATORS, Indicator, specs_of
from infra.clickhouse import detect_features, table_ddl
from tests.dashboard_fake import T0_MS, FakeQueries, fake_value, walk
from tests.unit.test_dashboard_pages import texts

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D2 = Scope(Role.DISTRICT_OPERATOR, "D2", "li")
WALL = Scope(Role.WALL_SCREEN, "", "wall")
FAKE = FakeQueries()
AREAS = [a.code for a in FAKE.areas]


def _view(scope: Scope, path: str, lang: str = "en", search: str = "") -> views.ScorecardView:
    return views.refresh_scorecard(FAKE, scope, path, search, lang)


def _links(component: Any) -> dict[str, str]:
    return {" ".join(texts(c)): c.href for c in walk(html.Div(component))
            if isinstance(c, dcc.Link)}  # fmt: skip


def _scores(view: views.ScorecardView) -> dict[str, str]:
    return {
        c.id: c.children
        for c in walk(html.Div(view.cards))
        if str(getattr(c, "id", "")).startswith("score-")
    }


def _rows(table: Any) -> list[list[str]]:
    return [[" ".join(texts(td)) for td in tr.children]
            for tr in walk(table) if isinstance(tr, html.Tr)][1:]  # fmt: skip


def test_scorecard_addresses_round_trip() -> None:
    for path in ("/scorecard", "/scorecard/city", "/scorecard/district/D1",
                 "/scorecard/grid/D1-S1-G01"):  # fmt: skip
        assert routes.href(routes.parse(path)) == path
    assert routes.parse("/scorecard/city/CB").error
    assert routes.parse("/scorecard/grid").error
    assert routes.href(routes.parse("/scorecard/street/D1-S2", "?wall=1")).endswith("?wall=1")


def test_the_city_shows_its_five_scores_of_the_latest_complete_minute() -> None:
    view = _view(COMMANDER, "/scorecard")
    assert view.status == []
    # T0+30 has only the data indicator: T0+29 is the latest complete minute.
    assert view.minute == "scores of 2025-11-26 08:29 UTC"
    assert _scores(view) == {f"score-{i.value}": f"{fake_value(0, j):.0f}"
                             for j, i in enumerate(INDICATORS)}  # fmt: skip
    card = next(c for c in walk(html.Div(view.cards)) if getattr(c, "id", "") == "card-environment")
    rows = _rows(card)
    specs = specs_of(Indicator.ENVIRONMENT)
    names = ["air quality (AQI)", "noise over limit", "water below warning"]
    assert [r[0] for r in rows] == [f"{n} {s.en}" for n, s in zip(names, specs, strict=True)]
    assert rows[0][1:4] == ["74 AQI", "74", "2"]
    assert rows[2][1:4] == ["—", "not judged", "1"]  # nothing measured: not judged
    assert "score-fair" in {getattr(c, "className", "") for c in walk(card)}


def test_in_chinese_the_formulas_are_the_contracts_and_no_english_label_is_left() -> None:
    area = AreaTree(FAKE.areas).get("D1")
    assert area is not None
    view = _view(COMMANDER, "/scorecard/district/D1", "zh")
    pages = [
        scorecard.layout("district", area, AreaTree(FAKE.areas), COMMANDER, "zh", 2000, False),
        view.cards, view.children, view.worst,
        _view(COMMANDER, "/scorecard/grid/D1-S1-G01", "zh").children,
    ]  # fmt: skip
    shown = [text for page in pages for text in texts(html.Div(page))]
    english = {en for en, _ in LABELS.values() if "{" not in en} - {"—"}
    assert sorted({text for text in shown if text in english}) == []
    for spec in specs_of(Indicator.GOVERNANCE):
        assert spec.zh in shown and spec.en not in shown
    assert view.minute == "2025-11-26 08:29 UTC 评分"
    assert t("ind_environment", "zh") in shown


def test_each_area_below_links_down_a_tier_with_its_scores() -> None:
    view = _view(COMMANDER, "/scorecard/city")
    rows = _rows(view.children)
    assert [r[1] for r in rows] == ["D1", "D2", "D3", "D4"]
    k = AREAS.index("D2")
    assert rows[1][2:] == [f"{fake_value(k, j):.0f}" for j in range(5)]
    links = [c.href for c in walk(view.children) if isinstance(c, dcc.Link)]
    assert links[:6] == ["/scorecard/district/D1"] * 6  # the name and each score
    street = _view(COMMANDER, "/scorecard/street/D1-S1")
    assert set(_links(street.children).values()) == {
        "/scorecard/grid/D1-S1-G01", "/scorecard/grid/D1-S1-G02"
    }  # fmt: skip


def test_the_worst_cells_are_the_lowest_judged_per_indicator_in_order() -> None:
    view = _view(COMMANDER, "/scorecard")
    rows = _rows(view.worst)
    cells = [a.code for a in FAKE.areas if a.level == "grid"]
    for j, indicator in enumerate(INDICATORS):
        judged = [c for c in cells if (c, indicator) != ("D1-S1-G02", Indicator.SERVICE)]
        expected = sorted(judged, key=lambda c: (fake_value(AREAS.index(c), j), c))[:5]
        name = t(f"ind_{indicator}", "en")
        assert [r[2] for r in rows if r[0] == name] == expected
    assert len(rows) == 25
    first = rows[0]
    assert first[3] == f"{fake_value(AREAS.index(first[2]), 0):.0f}"
    assert first[4].startswith("fresh sensors ")  # the weakest judged component
    links = _links(view.worst)
    assert links["area page"].startswith("/grid/")
    assert any(h == f"/scorecard/grid/{first[2]}" for h in links.values())


def test_a_cell_leads_to_its_sensors_and_cases() -> None:
    view = _view(COMMANDER, "/scorecard/grid/D1-S1-G01")
    assert set(_links(view.children).values()) == {"/sensor/WAT-0001", "/sensor/ENV-0001"}
    assert _links(view.worst)["C-1"] == "/case/C-1"
    service = _scores(_view(COMMANDER, "/scorecard/grid/D1-S1-G02"))["score-service"]
    assert service == "—"  # not judged in that cell


def test_the_trends_draw_a_line_per_indicator_over_the_day_and_the_month() -> None:
    view = _view(COMMANDER, "/scorecard/district/D1")
    for figure, points in ((view.day, 5), (view.month, 3)):
        go.Figure(figure)  # a valid figure
        assert [tr["name"] for tr in figure["data"]] == [t(f"ind_{i}", "en") for i in INDICATORS]
        assert [len(tr["x"]) for tr in figure["data"]] == [points] * 5
        assert figure["layout"]["yaxis"]["range"] == [0, 100]
    k = AREAS.index("D1")
    assert view.day["data"][0]["y"] == [fake_value(k, 0) - d for d in (4, 3, 2, 1, 0)]
    assert view.day["data"][0]["x"] == [T0_MS + m * 60_000 for m in range(25, 30)]


def test_a_district_operator_sees_their_district_only() -> None:
    mine = _view(OPERATOR_D2, "/scorecard")
    assert (
        mine.status == []
        and _scores(mine)["score-data"] == f"{fake_value(AREAS.index('D2'), 0):.0f}"
    )
    assert all(r[2].startswith("D2-") for r in _rows(mine.worst))
    for path in ("/scorecard/district/D1", "/scorecard/city", "/scorecard/grid/D1-S1-G01"):
        refused = _view(OPERATOR_D2, path)
        assert "outside your scope" in str(refused.status) and refused.cards == []
        _, page, _ = router.render(FAKE, OPERATOR_D2, path, "", "en", router.PageSettings())
        assert "outside your scope" in str(page) and "refusal" in page.className
    _, page, _ = router.render(FAKE, OPERATOR_D2, "/scorecard", "", "en", router.PageSettings())
    assert "scorecard · district · District 2" in texts(page)


def test_wall_screens_show_it_in_wall_mode_and_links_stay_on_the_wall() -> None:
    header, page, frame = router.render(FAKE, WALL, "/scorecard", "", "en", router.PageSettings())
    assert frame == "wall" and "refusal" not in page.className
    assert "scorecard" in [i.children for i in header if isinstance(i, dcc.Link)]
    view = _view(WALL, "/scorecard")
    assert all(h.endswith("?wall=1") for h in _links(view.children).values())
    commander = _view(COMMANDER, "/scorecard/district/D1", search="?wall=1")
    assert all(h.endswith("?wall=1") for h in _links(commander.worst).values())
    staff = Scope(Role.EMERGENCY_STAFF, "", "zhou")
    _, page, _ = router.render(FAKE, staff, "/scorecard", "", "en", router.PageSettings())
    assert "refusal" in page.className
    links = shell.header(COMMANDER, Route(Page.SCORECARD), "en")
    current = [i for i in links if isinstance(i, dcc.Link) and "current" in i.className]
    assert [(i.children, i.href) for i in current] == [("scorecard", "/scorecard")]


def test_before_any_indicator_is_written_the_page_says_so() -> None:
    empty = FakeQueries(areas=FAKE.areas, score_minutes=[], score_hours=[])
    view = views.refresh_scorecard(empty, COMMANDER, "/scorecard", "", "en")
    assert view.minute == "no indicator written yet"
    assert set(_scores(view).values()) == {"—"}
    assert "no data yet" in str(view.day)


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_failing_source_keeps_the_page_and_says_so(lang: str) -> None:
    failing = FakeQueries(error=QueryError("connection refused"))
    view = views.refresh_scorecard(failing, COMMANDER, "/scorecard", "", lang)
    assert "connection refused" in str(view.status)
    assert all(v is no_update for v in view[1:])


@pytest.mark.parametrize("module", [scorecard, routes, model])
def test_the_examples_in_the_docstrings_hold(module: object) -> None:
    failures, tried = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert tried > 0 and failures == 0


def test_an_area_page_links_to_its_scorecard_and_back() -> None:
    _, page, _ = router.render(FAKE, COMMANDER, "/street/D1-S2", "?wall=1", "en",
                               router.PageSettings())  # fmt: skip
    assert _links(page)["scorecard"] == "/scorecard/street/D1-S2?wall=1"
    _, page, _ = router.render(FAKE, COMMANDER, "/scorecard/street/D1-S2", "", "en",
                               router.PageSettings())  # fmt: skip
    links = _links(page)
    assert links["area page"] == "/street/D1-S2"
    assert (
        links["Citybrain"] == "/scorecard/city" and links["District 1"] == "/scorecard/district/D1"
    )


def test_the_scorecard_queries_run_on_a_new_server() -> None:
    """The integration tests reach 18.16 only; chdb embeds a current ClickHouse."""
    new = pytest.importorskip("tests.unit.test_schema_new_server")
    server = new.ChdbClient()
    server.execute("DROP DATABASE IF EXISTS cbscore")
    server.execute("CREATE DATABASE cbscore")
    for statement in table_ddl("cbscore", detect_features(server), 30):
        server.execute(statement)
    end = int(time.time()) // 60 * 60  # recent: older rows may go with the TTL
    hour = end // 3600 * 3600 - 3600
    env, g1, g2 = "environment", "D1-S1-G01", "D1-S1-G02"
    rows = [
        ("district", "D1", "data", end - 60, 70, 1), ("district", "D1", env, end - 60, 50, 1),
        ("district", "D1", "data", end, 71, 1), ("district", "D1", env, end, 51, 1),
        ("district", "D1", "data", end + 60, 72, 1),  # a minute still partial
        ("street", "D1-S1", env, end, 40, 1),
        ("grid", g1, env, end, 30, 1), ("grid", g1, env, end, 20, 2),  # the newer counts
        ("grid", g2, env, end, 10, 1), ("grid", g2, env, end, None, 2),  # not judged now
    ]  # fmt: skip
    values = ", ".join(
        f"('{lv}', '{code}', '{ind}', {at}, {'NULL' if s is None else s}, '[]', {v})"
        for lv, code, ind, at, s, v in rows
    )
    server.execute(f"INSERT INTO cbscore.indicators_1m VALUES {values}")
    server.execute(
        f"INSERT INTO cbscore.indicators_1h VALUES ('district', 'D1', 'data', {hour}, 60, '[]', 1)"
    )
    server.execute("USE cbscore")
    params = {"level": "district", "code": "D1", "below": "street", "children": ("D1-S1",),
              "cells": ("D1-S1-G01", "D1-S1-G02"), "minute": end, "worst": 5, "until": end,
              "span": 86_400}  # fmt: skip
    literal = {k: new._literal(v) for k, v in params.items()}
    names = ("SCORE_MINUTE", "SCORES_AT", "WORST_CELLS", "SCORE_TREND_1M")
    answers = {name: server.execute(getattr(sql, name) % literal) for name in names}
    literal["span"] = str(30 * 86_400)
    answers["SCORE_TREND_1H"] = server.execute(sql.SCORE_TREND_1H % literal)
    answers["SCORES_AT"] = sorted(answers["SCORES_AT"])  # grouped: in no order
    assert answers == {
        "SCORE_MINUTE": [(end, 2)],  # the newest with the most indicators, not end + 60
        "SCORES_AT": [("district", "D1", "data", 71, "[]"),
                      ("district", "D1", "environment", 51, "[]"),
                      ("street", "D1-S1", "environment", 40, "[]")],
        "WORST_CELLS": [("grid", "D1-S1-G01", "environment", 20, "[]")],  # G02 not judged
        "SCORE_TREND_1M": [("data", end - 60, 70), ("data", end, 71),
                           ("environment", end - 60, 50), ("environment", end, 51)],
        "SCORE_TREND_1H": [("data", hour, 60)],
    }  # fmt: skip
