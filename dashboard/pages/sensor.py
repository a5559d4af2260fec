"""A sensor: where it is, its readings with its alerts drawn on them, the static limits
of its metric and the forecasts the detectors made."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, level_badge, link, panel, table, when
from dashboard.figures import empty_figure, metric_label
from dashboard.i18n import t
from dashboard.model import AlertRow, SensorInfo
from dashboard.routes import Route, area_href, href
from dashboard.scope import Page


def layout(info: SensorInfo, lang: str, refresh_ms: int, wall: bool) -> html.Div:
    where = info.place
    options = [{"label": metric_label(m), "value": m} for m in info.metrics]
    facts = html.Dl(
        [
            html.Dt(t("kind", lang)),
            html.Dd(f"{info.kind} ({info.family})"),
            html.Dt(t("metrics", lang)),
            html.Dd(", ".join(info.metrics)),
            html.Dt(t("cadence", lang)),
            html.Dd(str(info.cadence_s)),
            html.Dt(t("location", lang)),
            html.Dd(
                [
                    link(where.district, area_href("district", where.district, wall)),
                    " › ",
                    link(where.street, area_href("street", where.street, wall)),
                    " › ",
                    link(where.grid, area_href("grid", where.grid, wall)),
                    f"  ({info.lon:.5f}, {info.lat:.5f})",
                ]
            ),
        ],
        className="facts",
    )
    return html.Div(
        [
            dcc.Interval(id=ids.SENSOR_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2(f"{t('sensor', lang)} {info.source_id}"),
            html.Div(id=ids.SENSOR_STATUS),
            panel(facts),
            dcc.Dropdown(
                id=ids.SENSOR_METRIC,
                options=options,
                value=info.metrics[0] if info.metrics else None,
                clearable=False,
                className="dropdown narrow",
            ),
            panel(
                dcc.Graph(
                    id=ids.SENSOR_CHART,
                    figure=empty_figure(t("no_data", lang)),
                    config={"displaylogo": False},
                    className="sensor-graph",
                )
            ),
            panel(html.Div(id=ids.SENSOR_ALERTS), t("sensor_alerts", lang)),
        ],
        className="sensor-page",
    )


def alerts_table(
    alerts: Sequence[AlertRow], lang: str, names: Mapping[str, str] | None = None
) -> html.Table | html.P:
    """The sensor's alerts, each said by its explanation's headline (the stored reason is
    the engine's last word, once an incident's id), linking to the console."""
    rows = [
        [
            level_badge(a.level, lang),
            t(f"status_{a.status}", lang),
            a.metric,
            link(a.explanation(lang, names).headline, href(Route(Page.ALERTS, alert=a.alert_id))),
            when(a.opened_ms),
            when(a.updated_ms),
        ]
        for a in alerts
    ]
    headers = [
        t("level", lang),
        t("status", lang),
        t("metric", lang),
        t("reason", lang),
        t("opened", lang),
        t("updated", lang),
    ]
    return table(headers, rows, None, NO_VALUE, "sensor-alerts-table")
