"""The frame around every page: address, language, navigation, the alarm, and the slot
the routed page goes in. Pure: built from settings at start-up and from the viewer's
scope on each navigation."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from dash import dcc, html

from dashboard import ids
from dashboard.i18n import t
from dashboard.model import AlertRow, DrillRow
from dashboard.routes import Route, area_href, href, sensor_href
from dashboard.scope import Page, Role, Scope, can_open
from detectors.alerting.playbook import metric_name


def build_shell(refresh_ms: int, default_lang: str) -> html.Div:
    """The static frame; the header, the page and the frame's class are filled in per
    address by the router."""
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            dcc.Store(id=ids.LANG, storage_type="local", data=default_lang),
            dcc.Store(id=ids.ALARM_IDS, data=[]),
            dcc.Interval(id=ids.SHELL_REFRESH, interval=refresh_ms, n_intervals=0),
            html.Div(
                [
                    html.Span("citybrain", className="brand"),
                    html.Nav(id=ids.HEADER, className="nav"),
                    html.Div(
                        [
                            html.Button("EN", id=ids.LANG_EN, className="chip"),
                            html.Button("中文", id=ids.LANG_ZH, className="chip"),
                            html.Button(
                                "♪", id=ids.SOUND_TOGGLE, className="chip", title="sound / 声音"
                            ),
                            html.Button(
                                "⤢",
                                id=ids.FULL_SCREEN,
                                className="chip",
                                title="full screen / 全屏",
                            ),
                        ],
                        className="controls",
                    ),
                ],
                className="topbar",
            ),
            html.Div(id=ids.ALARM_BANNER),
            html.Div(id=ids.DRILL_BANNER),
            html.Div("0", id=ids.ALARM_SOUND, className="alarm-sound", hidden=True),
            html.Main(id=ids.PAGE),
        ],
        id=ids.ROOT,
        className="console",
    )


def home(scope: Scope) -> Route:
    """Where a viewer lands: their tier, or the console for emergency staff."""
    if scope.role is Role.EMERGENCY_STAFF:
        return Route(Page.ALERTS)
    if scope.role is Role.ENGINEER:
        return Route(Page.QUALITY)
    wall = scope.role is Role.WALL_SCREEN
    if scope.city_wide:
        return Route(Page.TIER, "city", wall=wall)
    return Route(Page.TIER, "district", scope.district, wall=wall)


def resolve(route: Route, scope: Scope) -> Route:
    """The route itself, or for the bare address ``/`` the viewer's home."""
    if route.error or route.page is not Page.TIER or route.level:
        return route
    mine = home(scope)
    return Route(mine.page, mine.level, mine.code, wall=mine.wall or route.wall)


def header(scope: Scope, route: Route, lang: str) -> list[html.Span | dcc.Link | html.A]:
    """Navigation the viewer's role may use, who is signed in, and log out."""
    mine = home(scope)
    tier = (
        Route(Page.TIER, mine.level or "city", mine.code)
        if can_open(scope.role, Page.TIER)
        else None
    )
    links: list[tuple[str, Route | None]] = [
        (t("city", lang) if scope.city_wide else t("district", lang) + " " + scope.district, tier),
        (t("alert_console", lang), Route(Page.ALERTS)),
        (t("cases", lang), Route(Page.CASES)),
        (t("quality", lang), Route(Page.QUALITY)),
        (t("catalog", lang), Route(Page.CATALOG)),
        (t("scorecard", lang), Route(Page.SCORECARD)),
        (t("overview", lang), Route(Page.OVERVIEW)),
        (t("replays", lang), Route(Page.REPLAY)),
        (t("access_audit", lang), Route(Page.ACCESS)),
        (t("silences", lang), Route(Page.SILENCES)),
    ]
    items: list[html.Span | dcc.Link | html.A] = [
        dcc.Link(
            text,
            href=href(target),
            className="nav-link" + (" current" if target.page is route.page else ""),
        )
        for text, target in links
        if target is not None and can_open(scope.role, target.page)
    ]
    district = f", {scope.district}" if scope.district else ""
    who = t(
        "signed_in_as",
        lang,
        user=scope.username,
        role=t(f"role_{scope.role.value}", lang),
        district=district,
    )
    items.append(html.Span(who, id="signed-in", className="who"))
    items.append(html.A(t("logout", lang), href="/logout", className="nav-link logout"))
    return items


def alarm_banner(alarms: list[AlertRow], lang: str) -> list[dcc.Link]:
    """A blinking bar while any orange or red alert is unacknowledged: it opens the
    gravest one in the console; beside it, that alert's sensor on its metric."""
    if not alarms:
        return []
    gravest = alarms[0]  # the query orders them gravest, newest first
    banner: list[dcc.Link] = [
        dcc.Link(
            t("alarm_banner", lang, n=len(alarms)),
            href=href(Route(Page.ALERTS, alert=gravest.alert_id)),
            className="alarm-banner",
            id="alarm-link",
        )
    ]
    if gravest.source_id:
        banner.append(
            dcc.Link(
                f"{t('sensor', lang)} {gravest.source_id} · "
                f"{metric_name(gravest.metric, lang)}".rstrip(" ·"),
                href=sensor_href(gravest.source_id, gravest.metric),
                className="alarm-sensor",
                id="alarm-sensor-link",
            )
        )
    return banner


def frame_class(route: Route, scope: Scope) -> str:
    """Wall-screen mode: for wall-screen users always, for others with ``?wall=1``."""
    return "wall" if route.wall or scope.role is Role.WALL_SCREEN else "console"


def breadcrumb(
    chain: list[tuple[str, str, str, bool]], wall: bool, to: Callable[..., str] = area_href
) -> html.Nav:
    """city > district > street > grid cell: each (level, code, name, may link) to its page
    (``to``: the area pages, or another page per area); the last one and those outside the
    viewer's scope are plain text."""
    parts: list[html.Span | dcc.Link] = []
    for i, (level, code, name, linkable) in enumerate(chain):
        if i:
            parts.append(html.Span(" › ", className="crumb-sep"))
        if linkable and i < len(chain) - 1:
            parts.append(dcc.Link(name, href=to(level, code, wall), className="crumb"))
        else:
            parts.append(html.Span(name, className="crumb current"))
    return html.Nav(parts, className="breadcrumb", id="breadcrumb")


def drill_banner(drills: list[DrillRow], alerts: list[AlertRow], lang: str) -> list[html.Div]:
    """A bar per running demo drill: "DRILL: <title> in <area>", that it is an exercise,
    and links to the alerts and incidents it raised (marked DRILL), so nobody takes them
    for real ones."""
    bars = []
    for drill in drills:
        title = drill.title_zh if lang == "zh" else drill.title
        area = (drill.area_name_zh if lang == "zh" else drill.area_name) or drill.place.street
        if drill.place.grid:
            area = f"{area} {drill.place.grid}"
        until = datetime.fromtimestamp(drill.end_ms / 1000, UTC).strftime("%H:%M UTC")
        mine = [a for a in alerts if drill.covers(a)]
        links = [
            dcc.Link(
                f"{t('drill_mark', lang)} {_subject(a, lang)} {a.alert_id[:8]}",
                href=href(Route(Page.ALERTS, alert=a.alert_id)),
                className="drill-alert",
            )
            for a in mine[:6]
        ]
        bars.append(
            html.Div(
                [
                    html.Strong(t("drill_banner", lang, title=title, area=area)),
                    html.Span(" " + t("drill_note", lang, until=until), className="drill-note"),
                    *([html.Span(" " + t("drill_alerts", lang) + " "), *links] if links else []),
                ],
                className="drill-banner",
                id={"type": "drill", "drill": drill.drill_id},
            )
        )
    return bars


def _subject(alert: AlertRow, lang: str) -> str:
    return t("drill_incident" if alert.subject == "incident" else "alert", lang)
