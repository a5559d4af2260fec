"""The page of the city overview, and the pure pieces a refresh fills in.

Nothing here queries or reads the clock: the layout is built from settings at start-up, and
the table, KPI texts and status banner are functions of query results.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from dash import dcc, html

from dashboard import figures, ids
from dashboard.i18n import t
from dashboard.queries import CityShapes, DistrictRollup, RatePoint
from detectors.contract.events import METRICS

DEFAULT_METRIC = "pm25"
TEXT = "#f9fafb"
MUTED = "#9ca3af"
PANEL = {"backgroundColor": "#1f2937", "borderRadius": "8px", "padding": "12px"}
NO_VALUE = "—"


def build_layout(
    refresh_ms: int, default_metric: str = DEFAULT_METRIC, lang: str = "en"
) -> html.Div:
    """The whole city overview page; ``refresh_ms`` drives every live panel."""
    return html.Div(
        [
            dcc.Interval(id=ids.REFRESH, interval=refresh_ms, n_intervals=0),
            _header(lang),
            html.Div(id=ids.STATUS, children=[]),
            _kpi_row(lang),
            html.Div(
                [_map_panel(default_metric), _table_panel(lang)],
                style={"display": "grid", "gridTemplateColumns": "3fr 2fr", "gap": "12px"},
            ),
            html.Div(
                [
                    _graph_panel(ids.EVENT_RATE, t("ov_rate_title", lang)),
                    _graph_panel(ids.DEAD_LETTERS, t("ov_dead_title", lang)),
                ],
                style={"display": "grid", "gridTemplateColumns": "3fr 2fr", "gap": "12px"},
            ),
        ],
        style={
            "backgroundColor": figures.BACKGROUND,
            "color": TEXT,
            "fontFamily": "system-ui, 'Noto Sans CJK SC', sans-serif",
            "minHeight": "100vh",
            "padding": "16px",
            "display": "grid",
            "gap": "12px",
        },
    )


def _header(lang: str) -> html.Header:
    return html.Header(
        [
            html.H1("citybrain", id=ids.CITY_NAME, style={"margin": 0}),
            html.Span(t("ov_subtitle", lang), style={"color": MUTED}),
            html.Span(NO_VALUE, id=ids.COMPLETE_MINUTE, style={"color": TEXT, "fontWeight": 600}),
        ],
        style={"display": "flex", "alignItems": "baseline", "gap": "16px"},
    )


def _kpi_row(lang: str) -> html.Div:
    cards = [
        (ids.KPI_EVENTS_PER_S, t("ov_kpi_rate", lang)),
        (ids.KPI_DEAD_LETTERS, t("ov_kpi_dead", lang)),
        (ids.KPI_LAST_DATA, t("ov_kpi_last", lang)),
    ]
    return html.Div(
        [_kpi_card(kpi_id, label) for kpi_id, label in cards],
        style={"display": "grid", "gridTemplateColumns": "repeat(3, 1fr)", "gap": "12px"},
    )


def _kpi_card(kpi_id: str, label: str) -> html.Div:
    return html.Div(
        [
            html.Div(label, style={"color": MUTED, "fontSize": "14px"}),
            html.Div(NO_VALUE, id=kpi_id, style={"fontSize": "32px", "fontWeight": 600}),
        ],
        style=PANEL,
    )


def metric_options() -> list[dict[str, str]]:
    """Every known metric, labelled with its unit."""
    return [{"label": figures.metric_label(name), "value": name} for name in METRICS]


def _map_panel(default_metric: str) -> html.Div:
    return html.Div(
        [
            dcc.Dropdown(
                id=ids.METRIC,
                options=metric_options(),
                value=default_metric,
                clearable=False,
                style={"color": "#111827", "maxWidth": "320px"},
            ),
            dcc.Graph(
                id=ids.CITY_MAP,
                figure=figures.empty_figure(),
                config={"displaylogo": False},
                style={"height": "520px"},
            ),
        ],
        style=PANEL,
    )


def _table_panel(lang: str) -> html.Div:
    return html.Div(
        [
            html.H3(t("ov_table_title", lang), style={"marginTop": 0}),
            html.Div(id=ids.DISTRICT_TABLE, children=html.P(t("no_data", lang))),
        ],
        style={**PANEL, "overflowY": "auto", "maxHeight": "580px"},
    )


def _graph_panel(graph_id: str, title: str) -> html.Div:
    return html.Div(
        dcc.Graph(
            id=graph_id,
            figure=figures.empty_figure(title=title),
            config={"displaylogo": False},
            style={"height": "320px"},
        ),
        style=PANEL,
    )


def city_title(shapes: CityShapes) -> str:
    """The header: the city's own name from the city model, once it is known."""
    if shapes.city is None:
        return "citybrain"
    return " ".join(part for part in (shapes.city.name, shapes.city.name_zh) if part)


_TABLE_COLUMNS = ("district", "name", "ov_window", "ov_count", "ov_mean", "ov_min", "ov_max")
_CELL = {"padding": "4px 8px", "borderBottom": "1px solid #374151", "textAlign": "right"}


def district_table(
    shapes: CityShapes, rollups: Sequence[DistrictRollup], metric: str, lang: str = "en"
) -> html.Table | html.P:
    """One row per district: its newest roll-up of ``metric``, or dashes when it has none."""
    latest = {r.district: r for r in rollups if r.metric == metric}
    names = {d.code: f"{d.name} {d.name_zh}".strip() for d in shapes.districts}
    codes = list(names) + sorted(set(latest) - set(names))
    if not codes:
        return html.P(t("no_data", lang))
    header = html.Tr([html.Th(t(c, lang), style=_CELL) for c in _TABLE_COLUMNS])
    rows = [_table_row(code, names.get(code, ""), latest.get(code)) for code in codes]
    return html.Table(
        [html.Caption(figures.metric_label(metric)), html.Thead(header), html.Tbody(rows)],
        style={"width": "100%", "borderCollapse": "collapse"},
    )


def _table_row(code: str, name: str, rollup: DistrictRollup | None) -> html.Tr:
    if rollup is None:
        values = [NO_VALUE] * 5
    else:
        values = [
            rollup.window_start.strftime("%H:%M"),
            str(rollup.count),
            f"{rollup.mean:.4g}",
            f"{rollup.minimum:.4g}",
            f"{rollup.maximum:.4g}",
        ]
    cells = [code, name, *values]
    return html.Tr([html.Td(value, style=_CELL) for value in cells])


def last_full_minute(points: Sequence[RatePoint]) -> RatePoint | None:
    """The newest minute that is over: the newest one may still be filling up, and a
    number that drops at the start of every minute would mislead a wall screen."""
    complete = figures.complete_minutes(points)
    return complete[-1] if complete else None


def complete_minute_text(points: Sequence[RatePoint], lang: str = "en") -> str:
    """'last complete minute 12:04 UTC': the minute the current values are of."""
    point = last_full_minute(points)
    if point is None:
        return t("no_complete_minute", lang)
    return t("last_complete_minute", lang, minute=f"{point.window_start:%H:%M}")


def events_per_second_text(points: Sequence[RatePoint]) -> str:
    point = last_full_minute(points)
    if point is None:
        return NO_VALUE
    return f"{point.per_second:,.1f} ({point.window_start:%H:%M})"


def last_data_text(points: Sequence[RatePoint]) -> str:
    newest: datetime | None = max((p.window_start for p in points), default=None)
    return NO_VALUE if newest is None else f"{newest:%Y-%m-%d %H:%M} UTC"


def status_banner(message: str) -> list[html.Div]:
    """A visible warning across the page; empty when all is well."""
    if not message:
        return []
    return [
        html.Div(
            message,
            role="alert",
            style={
                "backgroundColor": "#7f1d1d",
                "color": TEXT,
                "padding": "8px 12px",
                "borderRadius": "6px",
                "fontWeight": 600,
            },
        )
    ]
