"""From an address to a page: the viewer's role must allow the page and their scope the
area; otherwise the page says why, and no data is read for it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dash import html

from dashboard import layout as overview_layout
from dashboard import routes, shell
from dashboard.components import refusal, status_line
from dashboard.i18n import explain, t
from dashboard.model import NotFound, QueryError
from dashboard.pages import access as access_page
from dashboard.pages import cases as cases_page
from dashboard.pages import catalog as catalog_page
from dashboard.pages import console, quality, scorecard, tier
from dashboard.pages import replay as replay_page
from dashboard.pages import sensor as sensor_page
from dashboard.pages import silences as silences_page
from dashboard.queries import Queries
from dashboard.routes import Route
from dashboard.scope import Page, Scope, ScopeError, can_open


@dataclass(frozen=True, slots=True)
class PageSettings:
    """What pages need from the settings."""

    refresh_ms: int = 2000
    quality_minutes: int = 10


def render(
    queries: Queries,
    scope: Scope,
    pathname: str | None,
    search: str | None,
    lang: str,
    settings: PageSettings,
) -> tuple[Any, Any, str]:
    """(header, page, frame class) for an address."""
    route = shell.resolve(routes.parse(pathname, search), scope)
    header = shell.header(scope, route, lang)
    frame = shell.frame_class(route, scope)
    home = routes.href(shell.home(scope))
    if route.error:
        return header, refusal("bad_address", route.error, home, lang), frame
    if not can_open(scope.role, route.page):
        text = t("role_may_not", lang, role=t(f"role_{scope.role.value}", lang))
        return header, refusal("refused", text, home, lang), frame
    try:
        page = _page(queries, scope, route, lang, settings)
    except ScopeError as exc:
        return header, refusal("refused", explain(exc, lang), home, lang), frame
    except NotFound as exc:
        return header, refusal("not_found", explain(exc, lang), home, lang), frame
    except QueryError as exc:
        page = html.Div(status_line(t("data_unavailable", lang, error=exc)))
    return header, page, frame


def _page(queries: Queries, scope: Scope, route: Route, lang: str, settings: PageSettings) -> Any:
    refresh = settings.refresh_ms
    wall = route.wall or scope.read_only
    if route.page is Page.TIER:
        area = queries.area(scope, route.level, route.code)
        tree = queries.area_tree(scope)
        return tier.layout(route.level, area, tree, scope, lang, refresh, wall)
    if route.page is Page.SCORECARD:
        level, code = scorecard.area_of(route, scope)
        area = queries.area(scope, level, code)
        return scorecard.layout(level, area, queries.area_tree(scope), scope, lang, refresh, wall)
    if route.page is Page.ALERTS:
        return console.layout(scope, lang, refresh, wall)
    if route.page is Page.CASES:
        return cases_page.list_layout(lang, refresh)
    if route.page is Page.CASE:
        return cases_page.case_layout(route.code, lang, refresh, scope, wall)
    if route.page is Page.SENSOR:
        info = queries.sensor(scope, route.code)
        if info is None:
            raise NotFound("sensor", route.code)
        return sensor_page.layout(info, lang, refresh, wall, route.metric)
    if route.page is Page.REPLAY:
        if route.code:
            return replay_page.replay_layout(route.code, lang)
        return replay_page.list_layout(lang)
    if route.page is Page.ACCESS:
        return access_page.layout(queries.access_events(scope), lang)
    if route.page is Page.SILENCES:
        return silences_page.layout(scope, lang, refresh, wall)
    if route.page is Page.QUALITY:
        return quality.layout(lang, refresh, settings.quality_minutes)
    if route.page is Page.CATALOG:
        return catalog_page.layout(lang, refresh, settings.quality_minutes)
    return overview_layout.build_layout(refresh, lang=lang)
