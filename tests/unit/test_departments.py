"""Cases belong to departments: every case category is routed to a department a case can
be dispatched to (and that the catalog knows), a dispatch overrides it, the case list shows
it and filters a department user's own cases, and the case page names it."""

from __future__ import annotations

from dataclasses import replace

from dash import html

from dashboard import ids, views
from dashboard.model import CaseList
from dashboard.pages import cases as cases_page
from dashboard.pages import console
from dashboard.scope import Role, Scope
from detectors.contract.cases import CATEGORY_DEPARTMENTS, DEPARTMENTS, case_department
from detectors.contract.catalog import DEFAULT_DEPARTMENTS
from detectors.contract.events import CASE_CATEGORIES
from tests.dashboard_fake import T0_MS, FakeQueries, walk
from tests.unit.test_dashboard_pages import texts


def test_every_category_goes_to_a_department_cases_can_be_dispatched_to() -> None:
    assert set(CATEGORY_DEPARTMENTS) == set(CASE_CATEGORIES)
    assert set(CATEGORY_DEPARTMENTS.values()) <= set(DEPARTMENTS)
    assert set(DEPARTMENTS) <= {d.code for d in DEFAULT_DEPARTMENTS}
    assert case_department("waterlogging") == "water"
    assert case_department("waterlogging", "municipal") == "municipal"
    assert case_department("no_such_kind") == "urban_management"


def _list(cases: CaseList, show: str, department: str = "") -> dict[str, list[str]]:
    shown = cases_page.case_list(cases, show, "en", department=department)
    trs = [tr for tr in walk(shown[1]) if isinstance(tr, html.Tr)][1:]
    found = {}
    for tr in trs:
        cells = [" ".join(texts(td)) for td in tr.children]
        if len(cells) > 1:
            found[cells[0]] = cells
    return found


def test_the_list_shows_each_cases_department_and_my_department_filters() -> None:
    fake = FakeQueries()
    # C-2 (garbage) was dispatched to municipal works: the dispatch wins over its category
    cases = [replace(c, dispatched="municipal") if c.case_id == "C-2" else c for c in fake.cases]
    listed = CaseList(T0_MS + 45 * 60_000, tuple(cases))
    shown = _list(listed, "open")
    assert {key: cells[2] for key, cells in shown.items()} == {
        "C-1": "Municipal Works", "C-2": "Municipal Works", "C-3": "Municipal Works",
    }  # fmt: skip
    sanitation = [replace(c, category="garbage", dispatched="") for c in cases[:1]]
    mixed = CaseList(listed.now_ms, (*cases, replace(sanitation[0], case_id="C-9")))
    assert set(_list(mixed, "mine", "sanitation")) == {"C-9"}
    assert set(_list(mixed, "mine", "municipal")) == {"C-1", "C-2", "C-3"}
    assert _list(mixed, "mine", "") == {}  # no department: none of the cases is theirs


def test_a_department_user_gets_their_departments_cases_from_the_view() -> None:
    water = Scope(Role.CITY_COMMANDER, "", "zhao", "sanitation")
    status, shown = views.refresh_cases(FakeQueries(), water, "mine", "en")
    assert status == []
    rows = [tr for tr in walk(shown[1]) if isinstance(tr, html.Tr)][1:]
    assert [" ".join(texts(tr.children[0])) for tr in rows] == ["C-2"]  # garbage


def test_the_case_page_names_the_department_dispatched_to_else_the_categorys() -> None:
    fake = FakeQueries()
    garbage = next(c for c in fake.cases if c.case_id == "C-2")
    trail = fake.case_trail(Scope(Role.CITY_COMMANDER), "C-2")
    page = cases_page.case_timeline(garbage, T0_MS, "en", trail)
    shown = [d for d in walk(html.Div(page)) if getattr(d, "id", None) == ids.CASE_OWNER]
    assert texts(shown[0]) == ["Sanitation"]
    moved = [*trail, replace(trail[0], department="municipal", ts_ms=trail[-1].ts_ms + 1)]
    page = cases_page.case_timeline(garbage, T0_MS, "zh", moved)
    shown = [d for d in walk(html.Div(page)) if getattr(d, "id", None) == ids.CASE_OWNER]
    assert texts(shown[0]) == ["市政"]


def _console_filters(scope: Scope) -> list[str]:
    page = console.layout(scope, "en", 2000, False)
    [radio] = [d for d in walk(page) if getattr(d, "id", None) == ids.CONSOLE_FILTER]
    return [o["value"] for o in radio.options]


def test_a_department_user_filters_the_console_to_their_sources_data_quality_alerts() -> None:
    fake = FakeQueries()
    base = fake.alerts[0]
    quality_alert = replace(
        base, alert_id="q-1", category="quality", metric="data_quality",
        evidence={"source_id": "WAT-0001", "metric": "data_quality", "detector": "promise",
                  "department": "water", "family": "water", "breaches": "stale",
                  "freshness_s": 300, "allowance_s": 600, "value": 660.0},
    )  # fmt: skip
    other = replace(quality_alert, alert_id="q-2", evidence={**quality_alert.evidence,
                                                             "department": "power"})  # fmt: skip
    fake.alerts = [base, quality_alert, other]
    water = Scope(Role.CITY_COMMANDER, "", "zhao", "water")
    assert _console_filters(water) == ["open", "mine", "all"]
    assert _console_filters(Scope(Role.CITY_COMMANDER)) == ["open", "all"]
    mine = views.refresh_console(fake, water, "", "mine", "en")
    shown = " ".join(texts(html.Div(mine.alerts)))
    assert "Water Affairs Bureau" in shown and "Power Supply Company" not in shown
    every = views.refresh_console(fake, water, "", "open", "en")
    assert "Power Supply Company" in " ".join(texts(html.Div(every.alerts)))


def test_the_case_page_and_its_timeline_carry_every_id_once() -> None:
    """The timeline is drawn inside the page's layout: an id used in both (as the case's
    department once was, beside the dispatch menu) breaks the page's callbacks."""
    fake = FakeQueries()
    garbage = next(c for c in fake.cases if c.case_id == "C-2")
    trail = fake.case_trail(Scope(Role.CITY_COMMANDER), "C-2")
    layout = cases_page.case_layout("C-2", "en", 2000, Scope(Role.CITY_COMMANDER), wall=False)
    timeline = cases_page.case_timeline(garbage, T0_MS, "en", trail)
    found = [d.id for d in walk(html.Div([layout, html.Div(timeline)])) if getattr(d, "id", None)]
    assert ids.CASE_DEPARTMENT in found and ids.CASE_OWNER in found
    assert sorted(found) == sorted(set(found))
