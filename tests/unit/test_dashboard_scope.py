"""Roles, scopes and addresses: pure, and the examples in their docstrings run."""

from __future__ import annotations

import doctest

import pytest

from dashboard import i18n, routes, scope, stages
from dashboard.routes import Route, href, parse
from dashboard.scope import Page, Role, Scope, ScopeError, can_open, check_assignment, parse_role
from detectors.contract import actions


@pytest.mark.parametrize("module", [scope, routes, actions, stages, i18n])
def test_the_examples_in_the_docstrings_hold(module: object) -> None:
    failures, tried = doctest.testmod(module, raise_on_error=False)  # type: ignore[arg-type]
    assert tried > 0 and failures == 0


def test_a_district_scope_allows_only_its_district_and_says_so() -> None:
    operator = Scope(Role.DISTRICT_OPERATOR, "D2", "li")
    operator.require_district("D2")
    with pytest.raises(ScopeError, match=r"^grid D3-S1-G01 is outside your scope \(district D2\)$"):
        operator.require_district("D3", "grid", "D3-S1-G01")
    assert operator.sql_params() == {"scope_all": 0, "scope_district": "D2"}
    city = Scope(Role.CITY_COMMANDER, "", "wang")
    assert city.city_wide and city.allows_district("D9")
    assert city.sql_params() == {"scope_all": 1, "scope_district": ""}


ROLE_PAGES = [
    (Role.CITY_COMMANDER, set(Page)),
    (Role.DISTRICT_OPERATOR, set(Page) - {Page.REPLAY, Page.ACCESS}),
    (Role.EMERGENCY_STAFF, {Page.ALERTS, Page.TIER, Page.SENSOR, Page.SILENCES}),
    (Role.ENGINEER, set(Page) - {Page.ACCESS}),
    (Role.WALL_SCREEN, {Page.TIER, Page.ALERTS, Page.OVERVIEW, Page.SCORECARD}),
]


@pytest.mark.parametrize(("role", "pages"), ROLE_PAGES)
def test_each_role_opens_its_pages_only(role: Role, pages: set[Page]) -> None:
    assert {p for p in Page if can_open(role, p)} == pages


def test_only_wall_screens_are_read_only() -> None:
    assert [r for r in Role if Scope(r).read_only] == [Role.WALL_SCREEN]


def test_roles_and_districts_are_checked_when_a_user_is_made() -> None:
    assert parse_role("engineer") is Role.ENGINEER
    with pytest.raises(ValueError, match="unknown role 'admin'"):
        parse_role("admin")
    with pytest.raises(ValueError, match="needs a district"):
        check_assignment(Role.DISTRICT_OPERATOR, "")
    with pytest.raises(ValueError, match="no district"):
        check_assignment(Role.CITY_COMMANDER, "D1")


@pytest.mark.parametrize(
    ("path", "search", "route"),
    [
        ("/", "", Route(Page.TIER, "")),
        ("/city", "", Route(Page.TIER, "city")),
        ("/district/D2", "?wall=1", Route(Page.TIER, "district", "D2", wall=True)),
        ("/street/D1-S1/", "", Route(Page.TIER, "street", "D1-S1")),
        ("/grid/D1-S1-G03", "", Route(Page.TIER, "grid", "D1-S1-G03")),
        ("/sensor/WAT-0001", "", Route(Page.SENSOR, code="WAT-0001")),
        ("/alerts", "?alert=a-1", Route(Page.ALERTS, alert="a-1")),
        ("/cases", "", Route(Page.CASES)),
        ("/case/C-1", "", Route(Page.CASE, code="C-1")),
        ("/quality", "", Route(Page.QUALITY)),
        ("/overview", "", Route(Page.OVERVIEW)),
    ],
)
def test_every_view_has_an_address_that_round_trips(path: str, search: str, route: Route) -> None:
    assert parse(path, search) == route
    if route.level or route.page is not Page.TIER:
        assert parse(*href(route).partition("?")[::2]) == route


@pytest.mark.parametrize(
    "path",
    [
        "/district/D1' OR 1=1",
        "/district/D1;DROP TABLE users",
        "/district",
        "/grid/a/b",
        "/nowhere",
        "/sensor/" + "x" * 65,
        "/district/%27",
    ],
)
def test_a_forged_or_unknown_address_is_a_clear_error(path: str) -> None:
    route = parse(path, "")
    assert route.error.startswith("bad address: ")


def test_a_forged_alert_id_in_the_query_is_refused() -> None:
    assert parse("/alerts", "?alert=x'%20OR%201=1").error.startswith("bad alert id")


def test_child_levels() -> None:
    assert [routes.child_level(level) for level in routes.TIER_LEVELS] == [
        "district",
        "street",
        "grid",
        "",
    ]
