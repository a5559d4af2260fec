"""What each page's refresh shows: plain functions of a query provider, the viewer's scope
and the page's inputs, so tests call them with FakeQueries. :mod:`dashboard.callbacks`
only wires them to the page.

A failing data source keeps what the page shows and says so; a request outside the scope
(a forged address or callback) or for something unknown is answered with a clear message
and no data.
"""

from __future__ import annotations

from typing import Any, NamedTuple, TypeVar

from dash import html, no_update

from dashboard import charts, ids, maps, routes
from dashboard.components import status_line
from dashboard.i18n import explain, t
from dashboard.marks import chart_start_ms
from dashboard.model import (
    ACTIVE_STATUSES,
    ALERT_STATUSES,
    AlertRow,
    DrillRow,
    NotFound,
    QueryError,
    drill_alert_ids,
)
from dashboard.pages import cases as cases_page
from dashboard.pages import catalog as catalog_page
from dashboard.pages import console, quality, scorecard, tier
from dashboard.pages import sensor as sensor_page
from dashboard.queries import Queries
from dashboard.routes import Route
from dashboard.scope import Page, Role, Scope, ScopeError
from dashboard.sender import ActionSender, SendError
from dashboard.shell import alarm_banner, drill_banner, resolve
from detectors.contract.actions import ActionError, Actor, Target, build_action, check_target
from detectors.contract.catalog import Subject as CatalogSubject
from detectors.contract.catalog import newest

HOUR_MS = 3_600_000


class TierView(NamedTuple):
    status: Any
    stage: Any
    kpis: Any
    map: Any
    children: Any
    alerts: Any
    history: Any
    activity: Any


class ConsoleView(NamedTuple):
    status: Any
    alerts: Any
    detail: Any
    trail: Any


class SensorView(NamedTuple):
    status: Any
    chart: Any
    alerts: Any
    alerting: Any  # which metrics have active alerts
    options: Any  # the metric selector's options, alerting ones marked


class ScorecardView(NamedTuple):
    status: Any
    minute: Any
    cards: Any
    day: Any
    month: Any
    children: Any  # the areas below; a grid cell's sensors
    worst: Any  # the lowest grid cells; a grid cell's cases


V = TypeVar("V", TierView, ConsoleView, SensorView, ScorecardView)


def _unchanged(view: type[V], status: Any) -> V:
    return view(status, *[no_update] * (len(view._fields) - 1))


def _emptied(view: type[V], status: Any) -> V:
    return view(status, *[[]] * (len(view._fields) - 1))


def message(exc: Exception, lang: str) -> list[Any]:
    """The banner for a failure: the data source is down, or the request was refused."""
    if isinstance(exc, QueryError):
        return status_line(t("data_unavailable", lang, error=exc))
    return status_line(explain(exc, lang))


def _failure(view: type[V], exc: Exception, lang: str) -> V:
    """A data source failure keeps the page; a refusal or an unknown subject clears it."""
    if isinstance(exc, QueryError):
        return _unchanged(view, message(exc, lang))
    return _emptied(view, message(exc, lang))


def is_wall(route: Route, scope: Scope) -> bool:
    return route.wall or scope.role is Role.WALL_SCREEN


def refresh_tier(
    queries: Queries,
    scope: Scope,
    pathname: str | None,
    search: str | None,
    lang: str,
    tile_url: str = "",
) -> TierView:
    route = resolve(routes.parse(pathname, search), scope)
    level = route.level or "city"
    try:
        area = queries.area(scope, level, route.code)
        tree = queries.area_tree(scope)
        alerts = queries.area_alerts(scope, level, area.code)
        cells = queries.sensor_cells(scope, level, area.code)
        sensors = queries.cell_sensors(scope, area.code) if level == "grid" else []
        history = queries.stage_history(scope, level, area.code)
        below = routes.child_level(level)
        codes = [c.code for c in tree.children(area.code)]
        stages = queries.latest_stages(scope, below, codes) if below and codes else {}
        cases = queries.area_cases(scope, level, area.code)
        rate = queries.area_rate(scope, level, area.code)
        marks = queries.area_marks(scope, level, area.code, chart_start_ms(rate)) if rate else []
    except (QueryError, ScopeError, NotFound) as exc:
        return _failure(TierView, exc, lang)
    wall = is_wall(route, scope)
    names = tree.names(lang)
    stage, reason, derived = tier.current_stage(
        alerts, history, tier.area_title(level, area, lang), lang, names
    )
    overdue = tier.overdue_cases(cases)
    children = (
        tier.sensors_table(sensors, alerts, lang, wall)
        if level == "grid"
        else tier.children_table(
            level, area, tree, alerts, cells, cases, overdue, stages, lang, wall
        )
    )
    return TierView(
        status=[],
        stage=tier.stage_view(stage, reason, derived, lang),
        kpis=tier.kpis(alerts, cases, overdue, sum(c.sensors for c in cells), rate, lang),
        map=maps.tier_map(level, area, tree, alerts, cells, sensors, lang, tile_url, wall),
        children=children,
        alerts=tier.alerts_table(alerts, lang, wall),
        history=tier.stage_history_table(history, lang, names),
        activity=charts.activity_chart(rate, lang, wall, marks),
    )


def refresh_scorecard(
    queries: Queries, scope: Scope, pathname: str | None, search: str | None, lang: str
) -> ScorecardView:
    """An area's scorecard: its five scores now with their components, its trends, the
    areas below and its worst grid cells (a grid cell: the sensors and cases behind it)."""
    route = routes.parse(pathname, search)
    level, code = scorecard.area_of(route, scope)
    try:
        area = queries.area(scope, level, code)
        tree = queries.area_tree(scope)
        card = queries.scorecard(scope, level, area.code)
        grid = level == "grid"
        sensors = queries.cell_sensors(scope, area.code) if grid else []
        cases = queries.area_cases(scope, level, area.code, open_only=False) if grid else None
    except (QueryError, ScopeError, NotFound) as exc:
        return _failure(ScorecardView, exc, lang)
    wall = is_wall(route, scope)
    return ScorecardView(
        status=[],
        minute=scorecard.minute_text(card.minute, lang),
        cards=scorecard.cards(card.now, lang),
        day=charts.score_trend(card.day, t("trend_day", lang), lang, wall),
        month=charts.score_trend(card.month, t("trend_month", lang), lang, wall),
        children=tier.sensors_table(sensors, [], lang, wall)
        if grid
        else scorecard.children_table(level, area, tree, card.children, lang, wall),
        worst=cases_page.case_list(cases, "all", lang)
        if cases is not None
        else scorecard.worst_table(card.worst, tree, lang, wall),
    )


def refresh_console(
    queries: Queries,
    scope: Scope,
    search: str | None,
    show: str | None,
    lang: str,
    now_ms: int | None = None,
) -> ConsoleView:
    route = routes.parse("/alerts", search)
    statuses = ALERT_STATUSES if show == "all" else ACTIVE_STATUSES
    try:
        if route.error:
            return _emptied(ConsoleView, status_line(route.error))
        alerts = queries.console_alerts(scope, statuses)
        if show == "mine":
            alerts = [a for a in alerts if department_of(a) == scope.department != ""]
        drills = drill_alert_ids(_drills_of(queries, scope, now_ms), alerts)
        selected = queries.alert(scope, route.alert) if route.alert else None
        events = queries.alert_trail(scope, route.alert) if selected else []
        names = queries.area_tree(scope).names(lang)
    except (QueryError, ScopeError, NotFound) as exc:
        return _failure(ConsoleView, exc, lang)
    missing = route.alert and not selected
    unknown = explain(NotFound("alert", route.alert), lang) if missing else ""
    return ConsoleView(
        status=[],
        alerts=console.alert_list(alerts, route.alert, lang, is_wall(route, scope), names, drills),
        detail=console.detail(selected, lang, unknown, names),
        trail=console.trail(events, lang) if selected else [],
    )


def department_of(alert: AlertRow) -> str:
    """The department an alert is for: the owner of a source whose data breaks its promise,
    the department holding an overdue case ('' for any other alert)."""
    return str(alert.evidence.get("department") or "")


def refresh_alarm(queries: Queries, scope: Scope, lang: str) -> tuple[Any, Any]:
    """The ids of unacknowledged orange/red alerts (the page beeps for new ones) and the
    banner that stays until they are acknowledged (a silenced alert neither beeps nor
    blinks)."""
    try:
        alarms = [a for a in queries.alarms(scope) if a.alarming]
    except QueryError:
        return no_update, no_update
    return [a.alert_id for a in alarms], alarm_banner(alarms, lang)


def _drills_of(queries: Queries, scope: Scope, now_ms: int | None) -> list[DrillRow]:
    """The drills whose alerts may still be open at ``now_ms`` (none without a time; none
    when they cannot be read: the console must not fail for want of its marks)."""
    if now_ms is None:
        return []
    try:
        return queries.active_drills(scope, now_ms, DrillRow.GRACE_MS)
    except QueryError:
        return []


def refresh_drills(queries: Queries, scope: Scope, lang: str, now_ms: int) -> Any:
    """The banner of the demo drills running now, with the alerts they raised (none: no
    banner; no drills table yet, as before a demo ever ran: no banner either)."""
    try:
        drills = queries.active_drills(scope, now_ms)
        alerts = queries.console_alerts(scope, ACTIVE_STATUSES) if drills else []
    except QueryError:
        return []
    return drill_banner(drills, alerts, lang)


def cases_viewer(scope: Scope) -> tuple[str, str]:
    """What of the viewer :func:`refresh_cases` reads: the district (the scope of the
    cases) and the department ("my department"); neither the name nor the role."""
    return scope.district, scope.department


def refresh_cases(queries: Queries, scope: Scope, show: str | None, lang: str) -> tuple[Any, Any]:
    level, code = ("city", "") if scope.city_wide else ("district", scope.district)
    try:
        found = queries.area_cases(scope, level, code, open_only=show != "all")
    except (QueryError, ScopeError, NotFound) as exc:
        return message(exc, lang), no_update if isinstance(exc, QueryError) else []
    return [], cases_page.case_list(found, show or "open", lang, department=scope.department)


def refresh_case(queries: Queries, scope: Scope, pathname: str | None, lang: str) -> Any:
    route = routes.parse(pathname, "")
    try:
        found = queries.case(scope, route.code)
        now_ms = queries.case_clock(scope)
        trail = queries.case_trail(scope, route.code) if found is not None else []
    except (QueryError, ScopeError, NotFound) as exc:
        return message(exc, lang)
    if found is None:
        return status_line(explain(NotFound("case", route.code), lang))
    return cases_page.case_timeline(found, max(now_ms, found.last_ms), lang, trail)


def refresh_sensor(
    queries: Queries, scope: Scope, pathname: str | None, metric: str | None, lang: str
) -> SensorView:
    route = routes.parse(pathname, "")
    try:
        info = queries.sensor(scope, route.code)
        if info is None:
            raise NotFound("sensor", route.code)
        series = queries.sensor_series(scope, route.code)
        since = series[0].ts_ms if series else 0
        alerts = queries.sensor_alerts(scope, route.code, since)
    except (QueryError, ScopeError, NotFound) as exc:
        return _failure(SensorView, exc, lang)
    chosen = sensor_page.opening_metric(info, metric or "") or ""
    alerting = sensor_page.alerting_metrics(alerts)
    return SensorView(
        status=[],
        chart=charts.sensor_chart(info.source_id, chosen, series, alerts, lang),
        alerts=sensor_page.alerts_table(alerts, lang),
        alerting=sensor_page.alerting_view(info.source_id, alerting, lang, is_wall(route, scope)),
        options=sensor_page.metric_options(info.metrics, alerting),
    )


def refresh_quality(
    queries: Queries, scope: Scope, lang: str, now_ms: int, minutes: int = 10
) -> tuple[Any, Any]:
    try:
        found = queries.data_quality(scope, minutes)
    except (QueryError, ScopeError, NotFound) as exc:
        return message(exc, lang), no_update
    return [], quality.quality_table(found, now_ms, lang)


def refresh_catalog(
    queries: Queries, scope: Scope, lang: str, now_ms: int, minutes: int = 10
) -> tuple[Any, Any]:
    """The catalog in force, each entry judged on the data-quality figures of its family
    (over the viewer's districts) or of its own source."""
    try:
        entries = list(newest(queries.catalog(scope)).values())
        departments = {d.code: d for d in queries.departments(scope)}
        overrides = [e for e in entries if e.subject is CatalogSubject.SOURCE]
        families = queries.data_quality(scope, minutes)
        sources = queries.source_quality(
            scope, sorted({e.family for e in overrides}), [e.key for e in overrides], minutes
        )
    except (QueryError, ScopeError, NotFound) as exc:
        return message(exc, lang), no_update
    return [], catalog_page.catalog_table(entries, departments, families, sources, now_ms, lang)


def choose_language(trigger: str | None, search: str | None) -> Any:
    """The language a click on the switch asks for, or else the address (``?lang=zh``,
    ``?lang=en``, on any page); no_update when neither asks, so the stored choice holds."""
    if trigger == ids.LANG_ZH:
        return "zh"
    if trigger == ids.LANG_EN:
        return "en"
    return routes.language(search) or no_update


def drill_target(click: dict[str, Any] | None) -> str | None:
    """The address a click on the map asks for (a marker's customdata), if it is one of
    ours; None for a click on anything else."""
    points = (click or {}).get("points") or []
    target = points[0].get("customdata") if points and isinstance(points[0], dict) else None
    if not isinstance(target, str) or not target.startswith("/"):
        return None
    route = routes.parse(*target.split("?", 1)) if "?" in target else routes.parse(target)
    return None if route.error or route.page not in (Page.TIER, Page.SENSOR) else target


def submit_action(
    queries: Queries,
    sender: ActionSender,
    scope: Scope,
    search: str | None,
    action: str | None,
    assignee: str | None,
    comment: str | None,
    lang: str,
    now_ms: int,
    action_id: str,
) -> list[Any]:
    """Check an operator's action and send it to Kafka; the answer says what happened.
    Nothing is sent when the action is not allowed, the alert is unknown or outside the
    scope, or it is already resolved."""
    route = routes.parse("/alerts", search)
    actor = Actor(scope.username, scope.role.value, scope.district)
    try:
        if route.error:
            raise ActionError(route.error)
        if not route.alert:
            raise ActionError(t("select_alert", lang))
        msg = build_action(
            action or "",
            route.alert,
            actor,
            assignee=assignee or "",
            comment=comment or "",
            now_ms=now_ms,
            action_id=action_id,
        )
        current = queries.alert(scope, route.alert)
        check_target(msg, _target(current))
        sender.send(msg)
    except (ActionError, SendError, QueryError) as exc:
        return [html.Div(str(exc), className="action-refused", role="alert", id="action-message")]
    text = t(
        "action_sent",
        lang,
        action=t(f"action_{msg['action']}", lang),
        alert=route.alert,
        id=action_id[:8],
    )
    return [html.Div(text, className="action-sent", id="action-message")]


def _target(alert: AlertRow | None) -> Target | None:
    if alert is None:
        return None
    return Target(alert.alert_id, alert.status, alert.place.district, alert.acknowledged_by)
