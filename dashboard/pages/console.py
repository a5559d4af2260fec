"""The alert console: the live list of the viewer's scope, most severe and newest first;
the selected alert's evidence and audit trail; and the actions the viewer's role may take.
An orange or red alert nobody has acknowledged stays highlighted."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, level_badge, link, panel, table, when
from dashboard.i18n import event_kind, t
from dashboard.model import AlertEventRow, AlertRow
from dashboard.routes import Route, area_href, href, sensor_href
from dashboard.scope import Page, Scope
from dashboard.stages import hazard
from detectors.alerting.reasons import reason_text
from detectors.contract.actions import allowed_actions
from detectors.contract.alerts import Category


def layout(scope: Scope, lang: str, refresh_ms: int, wall: bool) -> html.Div:
    filters = [
        {"label": t("filter_open", lang), "value": "open"},
        {"label": t("filter_all", lang), "value": "all"},
    ]
    if scope.department:  # the open alerts for the viewer's department (data quality, cases)
        filters.insert(1, {"label": t("filter_my_department", lang), "value": "mine"})
    return html.Div(
        [
            dcc.Location(id=ids.CONSOLE_URL, refresh="callback-nav"),
            dcc.Interval(id=ids.CONSOLE_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2(t("alert_console", lang)),
            html.Div(id=ids.CONSOLE_STATUS),
            dcc.RadioItems(
                id=ids.CONSOLE_FILTER,
                options=filters,
                value="open",
                inline=True,
                className="filter",
            ),
            html.Div(
                [
                    panel(
                        html.Div(id=ids.CONSOLE_LIST),
                        t("alerts", lang),
                        class_name="scroll-panel tall",
                    ),
                    html.Div(
                        [
                            panel(html.Div(id=ids.CONSOLE_DETAIL), t("evidence", lang)),
                            panel(_action_form(scope, lang, wall), t("act", lang)),
                            panel(
                                html.Div(id=ids.CONSOLE_TRAIL),
                                t("audit_trail", lang),
                                class_name="scroll-panel",
                            ),
                        ],
                        className="stack",
                    ),
                ],
                className="row-2 console-row",
            ),
        ],
        className="console-page",
    )


def _action_form(scope: Scope, lang: str, wall: bool) -> html.Div:
    actions = allowed_actions(scope.role.value)
    if not actions or wall:
        return html.Div(
            [html.P(t("read_only", lang), className="muted"), html.Div(id=ids.ACTION_RESULT)]
        )
    options = [{"label": t(f"action_{a}", lang), "value": a} for a in actions]
    return html.Div(
        [
            dcc.Dropdown(
                id=ids.ACTION_KIND,
                options=options,
                value=actions[0],
                clearable=False,
                className="dropdown",
            ),
            dcc.Input(
                id=ids.ACTION_ASSIGNEE,
                type="text",
                placeholder=t("assignee", lang),
                debounce=False,
                className="text-input",
            ),
            dcc.Textarea(
                id=ids.ACTION_COMMENT, placeholder=t("comment", lang), className="text-area"
            ),
            html.Button(t("send", lang), id=ids.ACTION_SUBMIT, n_clicks=0, className="primary"),
            html.Div(id=ids.ACTION_RESULT, className="action-result", role="status"),
        ],
        className="action-form",
    )


def alert_list(
    alerts: Sequence[AlertRow],
    selected: str,
    lang: str,
    wall: bool,
    names: Mapping[str, str] | None = None,
    drill_ids: frozenset[str] = frozenset(),
) -> html.Table | html.P:
    """Rows link to ``?alert=<id>``; unacknowledged orange/red rows carry 'alarm'; the
    reason is the explanation's headline (the whole of it on hover); the alerts and
    incidents of a demo drill (``drill_ids``) are marked DRILL."""
    said = [a.explanation(lang, names) for a in alerts]
    rows = [
        [
            drill_marked(level_badge(a.level, lang), a.alert_id in drill_ids, lang),
            _status(a, lang),
            link(
                # the sensor's id as its label (crews find the device by it), never in a sentence
                " · ".join(x for x in (hazard(a, lang), a.metric or a.category, a.source_id) if x),
                href(Route(Page.ALERTS, alert=a.alert_id, wall=wall)),
                "alert-link",
            ),
            html.Span(ex.headline, title=ex.text, className="explanation"),
            a.place.grid or a.place.street or a.place.district or a.place.city,
            when(a.opened_ms),
            a.assignee or NO_VALUE,
        ]
        for a, ex in zip(alerts, said, strict=True)
    ]
    classes = [
        " ".join(
            c
            for c in (
                "alarm" if a.alarming else "",
                "selected" if a.alert_id == selected else "",
                f"status-{a.status}",
                "silenced" if a.silenced else "",
            )
            if c
        )
        for a in alerts
    ]
    headers = [
        t("level", lang),
        t("status", lang),
        t("alerts", lang),
        t("reason", lang),
        t("where", lang),
        t("opened", lang),
        t("assignee", lang),
    ]
    return table(headers, rows, classes, t("no_alerts", lang), "console-table")


def _status(alert: AlertRow, lang: str) -> Any:
    """The alert's status, and a mark when a silence muted it."""
    if not alert.silenced:
        return t(f"status_{alert.status}", lang)
    mark = html.Span(t("silenced", lang), className="silenced-mark",
                     title=str(alert.evidence.get("silence_id")))  # fmt: skip
    return html.Span([t(f"status_{alert.status}", lang), " ", mark])


def drill_marked(cell: Any, drill: bool, lang: str) -> Any:
    """A cell with the DRILL mark in front when its alert is a drill's."""
    if not drill:
        return cell
    return html.Span([html.Span(t("drill_mark", lang), className="drill-chip"), " ", cell])


def detail(
    alert: AlertRow | None, lang: str, message: str = "", names: Mapping[str, str] | None = None
) -> list[Any]:
    """The selected alert: its explanation (what, where, how far, since when, forecast,
    first action), then the facts it rests on."""
    if alert is None:
        return [html.P(message or t("select_alert", lang), className="muted", id="detail-empty")]
    where = alert.place
    said = alert.explanation(lang, names)
    facts: list[tuple[str, Any]] = [
        (t("alerts", lang), html.Code(alert.alert_id, id="detail-alert-id")),
        (t("subject", lang), alert.subject),
        (t("level", lang), level_badge(alert.level, lang)),
        (t("status", lang), html.Span(_status(alert, lang), id="detail-status")),
        (
            t("explanation", lang),
            html.Div([html.P(s) for s in said.sentences], id="detail-explanation"),
        ),
        (
            t("where", lang),
            html.Span(
                [
                    link(where.district, area_href("district", where.district))
                    if where.district
                    else "",
                    " › " if where.grid else "",
                    link(where.grid, area_href("grid", where.grid)) if where.grid else "",
                ]
            ),
        ),
        _source(alert, lang),
        (t("opened", lang), when(alert.opened_ms)),
        (t("updated", lang), when(alert.updated_ms)),
        (t("acknowledged_by", lang), alert.acknowledged_by or NO_VALUE),
        (t("assignee", lang), alert.assignee or NO_VALUE),
        (
            t("evidence", lang),
            html.Pre(
                json.dumps(alert.evidence, ensure_ascii=False, indent=1), className="evidence"
            ),
        ),
    ]
    return [
        html.Dl([item for k, v in facts for item in (html.Dt(k), html.Dd(v))], className="facts")
    ]


def _source(alert: AlertRow, lang: str) -> tuple[str, Any]:
    """What the alert is on, linked: its sensor, or for an overdue case the case's page."""
    if not alert.source_id:
        return t("sensor", lang), NO_VALUE
    if alert.category == Category.CASE:
        return t("case", lang), link(alert.source_id, href(Route(Page.CASE, code=alert.source_id)))
    return t("sensor", lang), link(alert.source_id, sensor_href(alert.source_id, alert.metric))


def trail(events: Sequence[AlertEventRow], lang: str) -> html.Table | html.P:
    rows = [
        [
            when(e.ts_ms),
            event_kind(e.kind, lang),
            e.level or NO_VALUE,
            e.actor or NO_VALUE,
            e.comment or reason_text(e.reason, lang),
        ]
        for e in events
    ]
    headers = [
        t("time", lang),
        t("kind_event", lang),
        t("level", lang),
        t("actor", lang),
        t("comment", lang),
    ]
    return table(headers, rows, None, NO_VALUE, "trail-table")
