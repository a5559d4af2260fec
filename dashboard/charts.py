"""Charts of a tier, a sensor and a replay: pure functions of query results."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import plotly.graph_objects as go

from dashboard.components import LEVEL_COLOUR
from dashboard.figures import BACKGROUND, complete_minutes, empty_figure, metric_label
from dashboard.i18n import LABELS, t
from dashboard.maps import FAMILY_COLOUR
from dashboard.marks import add_marks, marks_of
from dashboard.model import AlertRow, RatePoint, RollupPoint, SeriesPoint, Trend
from detectors.contract.indicators import INDICATORS
from detectors.contract.levels import WarningLevel
from detectors.scoring.limits import Band, default_bands

GRID = "#374151"


def _layout(title: str, wall: bool = False) -> dict[str, object]:
    return {
        "title": {"text": title, "x": 0.01},
        # The dark look set directly (a named template is deep-copied into every figure).
        "font": {"color": "#e5e7eb", "size": 16 if wall else 12},
        "xaxis": {"gridcolor": GRID, "zerolinecolor": GRID},
        "yaxis": {"gridcolor": GRID, "zerolinecolor": GRID},
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "margin": {"l": 50, "r": 20, "t": 40, "b": 30},
        "uirevision": title,
    }


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def activity_chart(
    points: Sequence[RatePoint],
    lang: str,
    wall: bool = False,
    alerts: Sequence[AlertRow] = (),
    families: Mapping[str, Sequence[RatePoint]] | None = None,
    title: str = "",
) -> go.Figure:
    """Events per complete minute of an area, one point per minute of event time (gaps as
    zero), with the area's alerts and incidents marked where they were raised; with
    ``families``, each family's events per minute as a line of its own."""
    title = title or t("activity", lang)
    if not points:
        return empty_figure(t("no_data", lang), title)
    filled = complete_minutes(points)
    fig = go.Figure(layout=_layout(title, wall))
    fig.add_trace(
        go.Scatter(
            x=[p.window_start for p in filled],
            y=[p.count for p in filled],
            mode="lines",
            line={"color": "#38bdf8", "width": 2},
            fill="tozeroy",
            name=t("events_per_min", lang),
            hovertemplate="%{x|%H:%M} UTC: %{y}<extra></extra>",
        )
    )
    for family, series in sorted((families or {}).items()):
        fig.add_trace(_family_trace(family, series, filled, lang))
    fig.update_yaxes(rangemode="tozero")
    add_marks(fig, marks_of(alerts, filled[0].window_start, lang), wall)
    if families:  # the marks hide the legend; the families need theirs
        fig.update_layout(showlegend=True, legend={"orientation": "h", "y": -0.15})
    return fig


def _family_trace(
    family: str, series: Sequence[RatePoint], minutes: Sequence[RatePoint], lang: str
) -> go.Scatter:
    """One family's events per minute over the chart's minutes (a silent minute as zero)."""
    counts = {p.window_start: p.count for p in series}
    key = f"family_{family}"
    name = t(key, lang) if key in LABELS else family
    return go.Scatter(
        x=[p.window_start for p in minutes],
        y=[counts.get(p.window_start, 0) for p in minutes],
        mode="lines",
        line={"color": FAMILY_COLOUR.get(family, "#9ca3af"), "width": 1.5},
        name=name,
        hovertemplate=f"{name} %{{x|%H:%M}} UTC: %{{y}}<extra></extra>",
    )


def rollup_chart(
    metric: str,
    points: Sequence[RollupPoint],
    lang: str,
    wall: bool = False,
    alerts: Sequence[AlertRow] = (),
) -> go.Figure:
    """One metric of an area per minute: the mean of its readings as a line inside the
    band of their lowest and highest, with the area's alerts and incidents marked."""
    title = f"{t('rollup_title', lang)} · {metric_label(metric)}"
    mine = [p for p in points if p.metric == metric and p.count]
    if not mine:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure(layout=_layout(title, wall))
    times = [p.window_start for p in mine]
    fig.add_trace(
        go.Scatter(
            x=times,
            y=[p.maximum for p in mine],
            mode="lines",
            line={"width": 0},
            hoverinfo="skip",
            name=t("rollup_max", lang),
        )
    )
    fig.add_trace(go.Scatter(x=times, y=[p.minimum for p in mine], mode="lines",
                             line={"width": 0}, fill="tonexty", fillcolor="rgba(56,189,248,0.2)",
                             hoverinfo="skip", name=t("rollup_min", lang)))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=times,
            y=[p.mean for p in mine],
            mode="lines",
            line={"color": "#38bdf8", "width": 2},
            name=t("rollup_mean", lang),
            hovertemplate="%{x|%H:%M} UTC: %{y:.4g}<extra></extra>",
        )
    )
    fig.update_yaxes(title_text=metric_label(metric))
    add_marks(fig, marks_of(alerts, times[0], lang), wall)
    return fig


def sensor_chart(
    source_id: str,
    metric: str,
    series: Sequence[SeriesPoint],
    alerts: Sequence[AlertRow],
    lang: str,
    bands: Sequence[Band] | None = None,
) -> go.Figure:
    """One metric of a sensor: its readings, its alerts as shaded spans coloured by level,
    the static limits as lines, and forecasts (from the alerts' evidence) as diamonds."""
    title = f"{source_id} · {metric_label(metric)}"
    points = [p for p in series if p.metric == metric]
    if not points:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure(layout=_layout(title))
    fig.add_trace(
        go.Scatter(
            x=[_time(p.ts_ms) for p in points],
            y=[p.value for p in points],
            mode="lines+markers",
            marker={"size": 4},
            line={"color": "#38bdf8", "width": 2},
            name=t("series", lang),
        )
    )
    last_ms = points[-1].ts_ms
    mine = [a for a in alerts if a.metric == metric]
    for alert in mine:
        _add_alert_span(fig, alert, last_ms)
    for band in bands if bands is not None else (default_bands(metric, {}) or []):
        _add_band(fig, band, lang)
    _add_forecasts(fig, mine, lang)
    fig.update_layout(legend={"orientation": "h", "y": -0.15})
    return fig


def _add_alert_span(fig: go.Figure, alert: AlertRow, last_ms: int) -> None:
    end = last_ms if alert.active else alert.updated_ms
    rank = int(alert.level) if alert.level else 0
    fig.add_vrect(
        x0=_time(alert.opened_ms),
        x1=_time(max(end, alert.opened_ms + 1000)),
        fillcolor=LEVEL_COLOUR[rank],
        opacity=0.25,
        line_width=0,
        layer="below",
        annotation_text=f"{alert.level.roman if alert.level else ''} {alert.status}",
        annotation_position="top left",
    )


def _add_band(fig: go.Figure, band: Band, lang: str) -> None:
    level = WarningLevel(band.level)
    for limit in (band.low, band.high):
        if limit is not None:
            fig.add_hline(
                y=limit,
                line_dash="dot",
                line_color=LEVEL_COLOUR[band.level],
                opacity=0.8,
                annotation_text=f"{t('limits', lang)} {level.roman}",
                annotation_position="bottom right",
            )


def _add_forecasts(fig: go.Figure, alerts: Sequence[AlertRow], lang: str) -> None:
    found = [
        (int(a.evidence["forecast_ts_ms"]), float(a.evidence["expected"]))
        for a in alerts
        if isinstance(a.evidence.get("forecast_ts_ms"), int | float)
        and isinstance(a.evidence.get("expected"), int | float)
    ]
    if found:
        fig.add_trace(
            go.Scatter(
                x=[_time(ts) for ts, _ in found],
                y=[v for _, v in found],
                mode="markers",
                marker={"symbol": "diamond", "size": 12, "color": "#f472b6"},
                name=t("forecast", lang),
            )
        )


INDICATOR_COLOUR = {
    "data": "#38bdf8", "governance": "#a78bfa", "service": "#34d399", "economy": "#fbbf24",
    "environment": "#f87171",
}  # fmt: skip


def score_trend(
    trend: Trend, title: str, lang: str, wall: bool = False
) -> go.Figure | dict[str, Any]:
    """An area's five indicators over time, a line each on the 0-100 scale (a window with
    nothing to judge is a gap). A plain figure, not a validated go.Figure: checking its
    thousands of points took longer than reading them from ClickHouse."""
    if not trend:
        return empty_figure(t("no_data", lang), title)
    layout: dict[str, Any] = _layout(title, wall)
    layout["xaxis"] = {**layout["xaxis"], "type": "date"}
    layout["yaxis"] = {**layout["yaxis"], "range": [0, 100]}
    data = []
    for indicator in INDICATORS:
        times, scores = trend.get(indicator, ([], []))
        name = t(f"ind_{indicator}", lang)
        data.append({
            "type": "scatter", "mode": "lines", "name": name, "x": times, "y": scores,
            "line": {"color": INDICATOR_COLOUR[indicator], "width": 1.5},
            "hovertemplate": f"{name} %{{x|%m-%d %H:%M}} UTC: %{{y:.0f}}<extra></extra>",
        })  # fmt: skip
    legend = {"orientation": "h", "y": -0.15}
    return {"data": data, "layout": {**layout, "showlegend": True, "legend": legend}}
