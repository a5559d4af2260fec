"""The /catalog page over the fake queries: each entry in force with its owner in the
page's language, its promise, and whether the data keeps it now (the data-quality
figures); read only for everyone who may open it."""

from __future__ import annotations

from typing import Any

import pytest
from dash import html

from dashboard import router, views
from dashboard.model import QueryError
from dashboard.scope import Role, Scope
from tests.dashboard_fake import T0_MS, FakeQueries, walk
from tests.unit.test_dashboard_pages import texts

NOW = T0_MS + 30 * 60_000
COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D2 = Scope(Role.DISTRICT_OPERATOR, "D2", "li")


def table_rows(queries: FakeQueries, scope: Scope, lang: str) -> dict[str, tuple[str, list[str]]]:
    """Each row of the catalog table: its first cell -> (its class, its cells' texts)."""
    status, table = views.refresh_catalog(queries, scope, lang, NOW)
    assert status == []
    found = {}
    for tr in [c for c in walk(table) if isinstance(c, html.Tr)][1:]:
        cells = [" ".join(texts(td)) for td in tr.children]
        found[cells[0]] = (getattr(tr, "className", None) or "", cells)
    return found


def test_every_family_and_source_entry_in_force_is_shown_with_owner_and_promise() -> None:
    rows = table_rows(FakeQueries(), COMMANDER, "en")
    assert list(rows) == [
        "family · case", "family · environment", "family · power", "family · traffic",
        "family · water", "source · WAT-0001",
    ]  # fmt: skip
    _, env = rows["family · environment"]
    assert env[1:8] == ["Ecology and Environment Bureau", "1", "60", "5m", "80%", "10m",
                        "stale, incomplete"]  # fmt: skip
    assert env[10] == "City Administration Bureau"  # who else uses it
    assert "citybrain.environment, events_raw, rollups_1m" in env[11]
    assert env[12] == "area pages, sensor, alert console, data quality, overview"
    # The source's newest version (by ana) is in force, not the older one by li.
    _, own = rows["source · WAT-0001"]
    assert own[1] == "City Administration Bureau" and own[4:7] == ["1h", "99%", "15m"]
    assert own[13].startswith("cli:ana · ")


def test_whether_each_keeps_its_promise_comes_from_the_quality_figures() -> None:
    rows = table_rows(FakeQueries(), COMMANDER, "en")
    status = {key: (cls, cells[7], cells[9]) for key, (cls, cells) in rows.items()}
    assert status == {
        # water D1: 19 of 20 readings a minute, newest a minute ago; 15 min promised.
        "family · water": ("", "kept", "95%"),
        # environment D1: 12 of 30, newest 21 min ago against 5 min.
        "family · environment": ("stale incomplete", "stale, incomplete", "40%"),
        "family · power": ("", "kept", "100%"),
        "family · traffic": ("stale", "stale", "—"),  # no traffic data at all
        "family · case": ("stale", "stale", "—"),
        # WAT-0001's own promise: 99 %, it sends half of what its cadence asks.
        "source · WAT-0001": ("incomplete", "incomplete", "50%"),
    }


def test_in_chinese_the_owner_and_status_are_chinese() -> None:
    rows = table_rows(FakeQueries(), COMMANDER, "zh")
    _, env = rows["类别 · environment"]
    assert env[1] == "生态环境局" and env[7] == "数据陈旧, 数据不全"
    assert rows["数据源 · WAT-0001"][1][1] == "城市管理局"
    assert rows["类别 · water"][1][1] == "水务局" and rows["类别 · water"][1][7] == "达标"


def test_a_district_operator_sees_the_catalog_judged_on_their_district_only() -> None:
    rows = table_rows(FakeQueries(), OPERATOR_D2, "en")
    # Water data is D1's: none in D2; WAT-0001 sits in D1, so it is not judged here.
    assert rows["family · water"][1][7] == "stale"
    assert rows["family · power"][1][7] == "kept"
    assert rows["source · WAT-0001"][1][7] == "—"


def test_an_unknown_owner_and_an_empty_catalog_are_said() -> None:
    queries = FakeQueries(department_versions=[])
    rows = table_rows(queries, COMMANDER, "en")
    assert rows["family · water"][1][1] == "unknown department water"
    _, empty = views.refresh_catalog(FakeQueries.empty(), COMMANDER, "zh", NOW)
    assert "数据目录为空" in " ".join(texts(empty))


def test_a_failing_query_is_said_and_the_table_kept() -> None:
    status, table = views.refresh_catalog(
        FakeQueries(error=QueryError("down")), COMMANDER, "en", NOW
    )
    assert "down" in str(status) and table is views.no_update


@pytest.mark.parametrize(
    ("role", "district", "opens"),
    [
        (Role.CITY_COMMANDER, "", True),
        (Role.ENGINEER, "", True),
        (Role.DISTRICT_OPERATOR, "D2", True),
        (Role.EMERGENCY_STAFF, "", False),
        (Role.WALL_SCREEN, "", False),
    ],
)
def test_who_may_open_the_catalog_and_that_it_is_read_only(
    role: Role, district: str, opens: bool
) -> None:
    scope = Scope(role, district, "u")
    settings = router.PageSettings()
    header, page, _ = router.render(FakeQueries(), scope, "/catalog", "", "en", settings)
    shown: list[Any] = texts(page)
    links = [getattr(c, "href", None) for c in walk(html.Div(header))]
    assert ("/catalog" in links) is opens
    if opens:
        assert "data catalog" in list(walk(page)) and "read only" in shown
        assert not [c for c in walk(page) if isinstance(c, html.Button | html.Form)]
    else:
        assert "data catalog" not in list(walk(page))
