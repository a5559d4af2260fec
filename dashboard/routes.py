"""The command center's addresses: every view has its own URL, so browser back/forward
and a shared link open the same view.

>>> parse("/district/D2", "?wall=1")  # doctest: +NORMALIZE_WHITESPACE
Route(page=<Page.TIER: 'tier'>, level='district', code='D2', wall=True, alert='', error='',
      metric='')
>>> href(Route(Page.TIER, "grid", "D1-S1-G03"))
'/grid/D1-S1-G03'
>>> parse("/sensor/AIR-0001", "?metric=pm10").metric
'pm10'
>>> href(Route(Page.SENSOR, code="AIR-0001", metric="pm10"))
'/sensor/AIR-0001?metric=pm10'
>>> language("?lang=zh&wall=1"), language("?wall=1")
('zh', None)
>>> parse("/district/D2;DROP", "").error
'bad address: /district/D2;DROP'
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import parse_qs, quote

from dashboard.i18n import LANGUAGES
from dashboard.scope import Page
from detectors.contract.places import AREA_LEVELS, AreaLevel
from detectors.contract.places import child_level as child_level  # the tier below a tier

TIER_LEVELS = AREA_LEVELS
"""The tiers, coarsest first."""

_CODE = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")

_PLAIN_PAGES = ("alerts", "cases", "quality", "catalog", "overview", "access", "silences")
"""The pages whose address is their name alone."""

_ALERT_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,80}$")
_METRIC = re.compile(r"^[a-z0-9_]{1,40}$")


@dataclass(frozen=True, slots=True)
class Route:
    """What an address asks for. ``code`` is an area, sensor or case id; ``error`` is set
    when the address means nothing."""

    page: Page
    level: str = ""
    code: str = ""
    wall: bool = False
    alert: str = ""
    error: str = ""
    metric: str = ""  # a sensor page's metric to open on (the alert's, from an alert link)


HOME = Route(Page.TIER, AreaLevel.CITY)


def parse(pathname: str | None, search: str | None = "") -> Route:
    """The route of a pathname and query string (``?wall=1``, ``?alert=<id>``,
    ``?metric=<name>`` on a sensor page)."""
    path = (pathname or "/").rstrip("/") or "/"
    query = parse_qs((search or "").lstrip("?"))
    wall = query.get("wall", [""])[0] in ("1", "true", "yes")
    alert = query.get("alert", [""])[0]
    metric = query.get("metric", [""])[0]
    route = _parse_path(path)
    if alert and not _ALERT_ID.match(alert):
        return replace(route, error=f"bad alert id: {alert[:80]}", wall=wall)
    if metric and not _METRIC.match(metric):
        return replace(route, error=f"bad metric: {metric[:40]}", wall=wall)
    return replace(route, wall=wall, alert=alert, metric=metric)


def language(search: str | None) -> str | None:
    """The language an address asks for (``?lang=zh`` or ``?lang=en``), None when it asks
    for none (or for one the command center does not speak)."""
    asked = parse_qs((search or "").lstrip("?")).get("lang", [""])[0]
    return asked if asked in LANGUAGES else None


def _parse_path(path: str) -> Route:
    parts = path.strip("/").split("/") if path != "/" else []
    bad = Route(Page.TIER, error=f"bad address: {path[:120]}")
    if not parts:
        return Route(Page.TIER, "")  # the viewer's home, decided by role
    head, rest = parts[0], parts[1:]
    if head == AreaLevel.CITY and not rest:
        return HOME
    if head in TIER_LEVELS[1:] and len(rest) == 1:
        return Route(Page.TIER, head, rest[0]) if _CODE.match(rest[0]) else bad
    if head in ("sensor", "case") and len(rest) == 1:
        return Route(Page(head), code=rest[0]) if _CODE.match(rest[0]) else bad
    if head == "replay" and not rest:
        return Route(Page.REPLAY)
    if head == "replay" and len(rest) == 1:
        return Route(Page.REPLAY, code=rest[0]) if _CODE.match(rest[0]) else bad
    if head == Page.SCORECARD:
        return _scorecard_route(rest) or bad
    if head in _PLAIN_PAGES and not rest:
        return Route(Page(head))
    return bad


def href(route: Route) -> str:
    """The address of a route (the inverse of :func:`parse`)."""
    if route.page is Page.TIER:
        city = route.level == AreaLevel.CITY
        path = f"/{route.level}" if city else f"/{route.level}/{quote(route.code)}"
    elif route.page is Page.SCORECARD:
        area = [route.level] if route.level == AreaLevel.CITY else [route.level, route.code]
        path = "/".join(["", Page.SCORECARD.value, *[quote(p) for p in area if p]])
    elif route.page in (Page.SENSOR, Page.CASE) or (route.page is Page.REPLAY and route.code):
        path = f"/{route.page.value}/{quote(route.code)}"
    else:
        path = f"/{route.page.value}"
    query = [f"alert={quote(route.alert)}"] if route.alert else []
    query += [f"metric={quote(route.metric)}"] if route.metric else []
    query += ["wall=1"] if route.wall else []
    return path + ("?" + "&".join(query) if query else "")


def _scorecard_route(rest: list[str]) -> Route | None:
    """``/scorecard`` (the viewer's own area), ``/scorecard/city``, ``/scorecard/<tier>/<code>``."""
    if not rest:
        return Route(Page.SCORECARD)
    if rest == [AreaLevel.CITY]:
        return Route(Page.SCORECARD, AreaLevel.CITY)
    if len(rest) == 2 and rest[0] in TIER_LEVELS[1:] and _CODE.match(rest[1]):
        return Route(Page.SCORECARD, rest[0], rest[1])
    return None


def scorecard_href(level: str, code: str, wall: bool = False) -> str:
    """An area's scorecard.

    >>> scorecard_href("grid", "D1-S1-G03"), scorecard_href("city", "CB", wall=True)
    ('/scorecard/grid/D1-S1-G03', '/scorecard/city?wall=1')
    >>> parse("/scorecard/street/D1-S2").code, parse("/scorecard/moon/x").error
    ('D1-S2', 'bad address: /scorecard/moon/x')
    """
    return href(Route(Page.SCORECARD, level, code, wall=wall))


def area_href(level: str, code: str, wall: bool = False) -> str:
    return href(Route(Page.TIER, level, code, wall=wall))


def sensor_href(source_id: str, metric: str = "", wall: bool = False) -> str:
    """A sensor's page, opened on ``metric`` (an alert's): what every link from an alert
    to its sensor uses."""
    return href(Route(Page.SENSOR, code=source_id, metric=metric, wall=wall))
