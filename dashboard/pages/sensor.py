"""A sensor: where it is, its readings with its alerts drawn on them, the static limits
of its metric and the forecasts the detectors made. Reached from an alert, it opens on
that alert's metric (``?metric=``) and says which metrics have active alerts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, level_badge, link, panel, table, when
from dashboard.figures import empty_figure, metric_label
from dashboard.i18n import t
from dashboard.model import AlertRow, SensorInfo
from dashboard.routes import Route, area_href, href, parse, sensor_href
from dashboard.scope import Page
from detectors.contract.levels import WarningLevel


def opening_metric(info: SensorInfo, asked: str) -> str | None:
    """The metric the page opens on: the one the address asks for (an alert's), if the
    sensor measures it, else its first."""
    if asked in info.metrics:
        return asked
    return info.metrics[0] if info.metrics else None


def alerting_metrics(alerts: Sequence[AlertRow]) -> list[tuple[str, WarningLevel | None]]:
    """Each metric with active alerts and its highest level, gravest first."""
    worst: dict[str, int] = {}
    for a in alerts:
        if a.active and a.metric:
            worst[a.metric] = max(worst.get(a.metric, 0), int(a.level) if a.level else 0)
    ranked = sorted(worst.items(), key=lambda item: (-item[1], item[0]))
    return [(metric, WarningLevel(rank) if rank else None) for metric, rank in ranked]


def metric_options(
    metrics: Sequence[str], alerting: Sequence[tuple[str, WarningLevel | None]]
) -> list[dict[str, str]]:
    """The metric selector's options; a metric with active alerts says so (⚠ and level)."""
    levels = dict(alerting)
    return [{"label": _option_label(m, m in levels, levels.get(m)), "value": m} for m in metrics]


def _option_label(metric: str, alerting: bool, level: WarningLevel | None) -> str:
    if not alerting:
        return metric_label(metric)
    return f"{metric_label(metric)} ⚠ {level.roman if level else ''}".rstrip()


def alerting_view(
    source_id: str, alerting: Sequence[tuple[str, WarningLevel | None]], lang: str, wall: bool
) -> list[Any]:
    """'active alerts on: pm10 III yellow, ...' (each opens its metric), or that there is
    none."""
    if not alerting:
        return [html.Span(t("no_alerting_metrics", lang), className="muted")]
    items: list[Any] = [html.Span(f"{t('alerting_metrics', lang)}: ", className="muted")]
    for metric, level in alerting:
        target = sensor_href(source_id, metric, wall)
        items += [link(metric, target, "alerting-metric"), " ", level_badge(level, lang), " "]
    return items


def metric_of_address(search: str | None, metrics: Sequence[str]) -> str | None:
    """The metric an address asks a sensor page to show, if the sensor measures it."""
    asked = parse("/", search).metric
    return asked if asked in metrics else None


def layout(info: SensorInfo, lang: str, refresh_ms: int, wall: bool, metric: str = "") -> html.Div:
    where = info.place
    options = metric_options(info.metrics, [])
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
            html.Div(id=ids.SENSOR_ALERTING, className="sensor-alerting"),
            dcc.Dropdown(
                id=ids.SENSOR_METRIC,
                options=options,
                value=opening_metric(info, metric),
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
            link(a.metric, sensor_href(a.source_id, a.metric)) if a.metric else NO_VALUE,
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
