"""The replay page: choose a finished replay, play, pause and seek through it, and see the
city as the command center showed it at that moment (map, active alerts, stages), and the
replay's roll-ups over its whole range (events per minute by family, one metric) with its
alerts marked in time and the moment shown as a line. Everything is of the viewer's
scope: the city, or their district."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go
from dash import Patch, dcc, html, no_update

from dashboard import ids
from dashboard.charts import activity_chart, rollup_chart
from dashboard.components import level_badge, link, panel, stage_badge, status_line, table, when
from dashboard.figures import empty_figure, metric_label, small_graph
from dashboard.i18n import t
from dashboard.layout import DEFAULT_METRIC
from dashboard.maps import tier_map
from dashboard.marks import moment_shape
from dashboard.model import AlertRow, AreaTree, QueryError
from dashboard.replay_queries import BadReplay, ReplayInfo, ReplayQueries
from dashboard.replay_state import (
    ActiveAlert,
    StagePoint,
    active_at,
    advance,
    chart_area,
    chart_metric,
    family_rates,
    stages_at,
)
from dashboard.routes import Route, href
from dashboard.scope import Page, Scope, ScopeError, can_open
from detectors.alerting.reasons import stage_text
from detectors.contract.alerts import AlertStatus, Subject
from detectors.contract.levels import WarningLevel
from detectors.contract.places import Location

TICK_MS = 1000


def list_layout(lang: str) -> html.Div:
    """``/replay``: the finished replays, filled by a callback."""
    return html.Div(
        [
            dcc.Store(id=ids.REPLAY_LIST_LOAD, data=1),
            html.H2(t("replays", lang), className="tier-title"),
            panel(html.Div(id=ids.REPLAY_LIST), class_name="scroll-panel"),
        ],
        className="replay-page",
    )


def replay_layout(name: str, lang: str) -> html.Div:
    """``/replay/<name>``: the player's skeleton; callbacks fill in the range and views."""
    return html.Div(
        [
            dcc.Store(id=ids.REPLAY_NAME, data=name),
            dcc.Interval(id=ids.REPLAY_TICK, interval=TICK_MS, disabled=True, n_intervals=0),
            html.H2(f"{t('replay', lang)} · {name}", className="tier-title"),
            html.Div(id=ids.REPLAY_STATUS),
            html.Div(
                [
                    html.Button(t("play", lang), id=ids.REPLAY_PLAY, n_clicks=0),
                    html.Button(t("pause", lang), id=ids.REPLAY_PAUSE, n_clicks=0),
                    html.Span(id=ids.REPLAY_MOMENT, className="replay-moment"),
                ],
                className="replay-controls",
            ),
            dcc.Slider(
                id=ids.REPLAY_SLIDER,
                min=0,
                max=1,
                value=0,
                step=1,
                marks=None,
                updatemode="mouseup",
            ),  # fmt: skip
            html.Div(
                [
                    panel(
                        dcc.Graph(
                            id=ids.REPLAY_MAP,
                            figure=empty_figure(t("no_data", lang)),
                            config={"displaylogo": False, "displayModeBar": False},
                            className="map-graph",
                        ),  # fmt: skip
                        class_name="map-panel",
                    ),
                    panel(
                        html.Div(id=ids.REPLAY_STAGES),
                        t("district_stages", lang),
                        class_name="scroll-panel",
                    ),
                ],
                className="row-2",
            ),
            html.Div(
                [
                    panel(small_graph(ids.REPLAY_ACTIVITY, lang)),
                    panel(
                        [
                            dcc.Dropdown(
                                id=ids.REPLAY_METRIC,
                                options=[],
                                value=DEFAULT_METRIC,
                                clearable=False,
                                className="replay-metric",
                                style={"color": "#111827", "maxWidth": "320px"},
                            ),
                            small_graph(ids.REPLAY_ROLLUP, lang),
                        ]
                    ),
                ],
                className="row-2 replay-charts",
            ),  # fmt: skip
            panel(
                html.Div(id=ids.REPLAY_ALERTS), t("active_alerts", lang), class_name="scroll-panel"
            ),  # fmt: skip
        ],
        className="replay-page",
    )


def replay_list(replays: Sequence[ReplayInfo], lang: str) -> html.Table | html.P:
    rows = [
        [
            link(r.name, href(Route(Page.REPLAY, code=r.name)), "drill"),
            when(r.from_ms),
            when(r.to_ms),
        ]
        for r in replays
    ]
    headers = [t("name", lang), t("replay_from", lang), t("replay_to", lang)]
    return table(headers, rows, None, t("no_replays", lang), "replay-table")


def refused(scope: Scope) -> bool:
    return not can_open(scope.role, Page.REPLAY)


def list_view(replays: ReplayQueries | None, scope: Scope, lang: str) -> Any:
    if replays is None or refused(scope):
        return status_line(t("refused", lang))
    try:
        return replay_list(replays.finished(), lang)
    except QueryError as exc:
        return status_line(t("data_unavailable", lang, error=exc))


def setup(
    replays: ReplayQueries | None, scope: Scope, name: str | None, lang: str
) -> tuple[int, int, int, Any]:
    """(slider min, max, value, status) for the replay ``name``."""
    if replays is None or refused(scope):
        return 0, 1, 0, status_line(t("refused", lang))
    try:
        info = replays.replay(name or "")
    except QueryError as exc:
        return 0, 1, 0, status_line(t("data_unavailable", lang, error=exc))
    if info is None:
        return 0, 1, 0, status_line(t("no_such_replay", lang, name=name or ""))
    span = t("replay_range", lang, start=when(info.from_ms), end=when(info.to_ms))
    return info.from_ms, max(info.to_ms, info.from_ms + 1), info.from_ms, html.P(span)


def play(
    trigger: str | None, value: int | None, low: int, high: int
) -> tuple[int | None, bool | None]:
    """(slider value, interval disabled), None for unchanged, after a button or a tick. A
    tick never starts the clock again: one answered after a pause would undo the pause."""
    if trigger == ids.REPLAY_PLAY:
        start = low if value is None or int(value) >= high else int(value)
        return start, False
    if trigger == ids.REPLAY_PAUSE:
        return None, True
    following, done = advance(value, low, high)
    return following, (True if done else None)


def moment(
    replays: ReplayQueries | None, scope: Scope, name: str | None, t_ms: int | None, lang: str
) -> tuple[Any, Any, Any, str]:
    """(map, active alerts, district stages, moment label) of the replay at ``t_ms``."""
    empty = empty_figure(t("no_data", lang))
    if replays is None or refused(scope):
        return empty, status_line(t("refused", lang)), "", ""
    try:
        info = replays.replay(name or "")
        if info is None:
            return empty, status_line(t("no_such_replay", lang, name=name or "")), "", ""
        at = info.from_ms if t_ms is None else min(max(int(t_ms), info.from_ms), info.to_ms)
        tree = replays.areas(info, scope)
        alerts = active_at(replays.events(info, scope, at), at)
        districts = [a.code for a in tree.areas if a.level == "district"]
        stages = stages_at(replays.stage_changes(info, scope, at), districts, at)
    except BadReplay as exc:
        return empty, status_line(t("bad_replay", lang, name=name, error=exc)), "", ""
    except QueryError as exc:
        return empty, status_line(t("data_unavailable", lang, error=exc)), "", ""
    return (
        city_map(tree, alerts, lang),
        alerts_table(alerts, lang),
        stages_table(stages, tree, lang),
        when(at),
    )


def charts(
    replays: ReplayQueries | None,
    scope: Scope,
    name: str | None,
    metric: str | None,
    t_ms: int | None,
    lang: str,
) -> tuple[Any, Any, list[dict[str, str]], str]:
    """(events per minute by family, the chosen metric's roll-up, the metrics to choose
    from, the metric shown) of the replay ``name`` in the viewer's area, over the whole
    replay, its alerts marked and the moment ``t_ms`` drawn. A failure leaves the charts
    empty: the moment's status line says what failed."""
    empty = empty_figure(t("no_data", lang))
    if replays is None or refused(scope):
        return empty, empty, [], metric or DEFAULT_METRIC
    try:
        info = replays.replay(name or "")
        area = chart_area(replays.areas(info, scope), scope) if info else None
        if info is None or area is None:
            return empty, empty, [], metric or DEFAULT_METRIC
        points = replays.rollups(info, scope, area)
        marks = replays.marks(info, scope, area)
    except (BadReplay, QueryError, ScopeError):
        return empty, empty, [], metric or DEFAULT_METRIC
    shown, metrics = chart_metric(points, metric, DEFAULT_METRIC)
    total, families = family_rates(points)
    where = (area.name_zh or area.name) if lang == "zh" else (area.name or area.code)
    title = t("replay_activity", lang, area=where)
    figures = (
        activity_chart(total, lang, alerts=marks, families=families, title=title),
        rollup_chart(shown, points, lang, alerts=marks),
    )
    at = info.from_ms if t_ms is None else min(max(int(t_ms), info.from_ms), info.to_ms)
    for figure in figures:
        if points:
            figure.add_shape(moment_mark(at, lang))
    options = [{"label": metric_label(m), "value": m} for m in metrics]
    return figures[0], figures[1], options, shown


def moment_mark(t_ms: int, lang: str) -> dict[str, object]:
    """The line that shows the replay's moment on its charts, labelled with its time."""
    return moment_shape(t_ms, t("replay_at", lang, time=when(t_ms)[11:]))


def move_moment(t_ms: int | None, metrics: list[Any] | None, lang: str) -> tuple[Any, Any]:
    """Both charts' moment line moved to ``t_ms`` (a patch: the series stay as drawn);
    charts without roll-ups (no ``metrics`` to choose from) have no line to move."""
    if t_ms is None or not metrics:
        return no_update, no_update
    patches = (Patch(), Patch())
    for patch in patches:
        patch["layout"]["shapes"] = [moment_mark(int(t_ms), lang)]
    return patches


def as_alert_rows(alerts: Sequence[ActiveAlert], city: str) -> list[AlertRow]:
    """The active alerts as the command center's alert rows, for its map."""
    return [
        AlertRow(a.alert_id, Subject.ALERT, "", "", a.category,
                 WarningLevel(a.level_rank) if 1 <= a.level_rank <= 4 else None, "",
                 AlertStatus.ACTIVE, a.since_ms, a.since_ms, 0, "", "", a.reason,
                 Location(city, a.district, a.street, a.grid), "", "", "")
        for a in alerts
    ]  # fmt: skip


def city_map(tree: AreaTree, alerts: Sequence[ActiveAlert], lang: str) -> go.Figure:
    """The city coloured by each district's highest active level."""
    city = next((a for a in tree.areas if a.level == "city"), None)
    if city is None:
        return empty_figure(t("no_data", lang))
    return tier_map("city", city, tree, as_alert_rows(alerts, city.code), [], [], lang)


def alerts_table(alerts: Sequence[ActiveAlert], lang: str) -> html.Table | html.P:
    rows = [
        [
            level_badge(WarningLevel(a.level_rank) if 1 <= a.level_rank <= 4 else None, lang),
            a.category,
            a.where,
            when(a.since_ms),
        ]
        for a in alerts
    ]
    headers = [t("level", lang), t("category", lang), t("where", lang), t("since", lang)]
    return table(headers, rows, None, t("no_alerts", lang), "alerts-table")


def stages_table(stages: dict[str, StagePoint], tree: AreaTree, lang: str) -> html.Table | html.P:
    names = {a.code: (a.name_zh or a.name) if lang == "zh" else (a.name or a.code)
             for a in tree.areas}  # fmt: skip
    rows = [
        [
            names.get(code, code),
            code,
            stage_badge(s.stage, lang),
            stage_text(s.reason, s.level, code, lang, names),
        ]
        for code, s in sorted(stages.items())
    ]
    headers = [t("name", lang), t("code", lang), t("stage", lang), t("reason", lang)]
    return table(headers, rows, None, t("no_data", lang), "stage-table")
