"""Plotly figures of the command center: pure functions of query results.

The map is drawn from the districts' own rings (no tile server, no internet: command
centers run on closed networks). Every figure has a "no data yet" form so an empty
database or a fresh start shows a clear message, never a blank or a crash.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import timedelta

import plotly.graph_objects as go
import plotly.io as pio
from dash import dcc
from plotly.colors import sample_colorscale

from dashboard.i18n import t
from dashboard.marks import add_marks, marks_of
from dashboard.model import AlertRow, CityShapes, DeadLetterCounts, DistrictRollup, RatePoint
from detectors.contract.city import Area
from detectors.contract.events import METRICS

TEMPLATE = "plotly_dark"
BACKGROUND = "#111827"
COLORSCALE = "YlOrRd"
NO_DATA_FILL = "#4b5563"
OUTLINE = "#e5e7eb"


def _base_layout(title: str) -> dict[str, object]:
    return {
        "title": {"text": title, "x": 0.01},
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "margin": {"l": 40, "r": 20, "t": 40, "b": 30},
        "uirevision": title,
    }


def _figure(title: str) -> go.Figure:
    """An empty figure of :func:`_base_layout` in the :data:`TEMPLATE` look.

    Named in the layout, the template is deep-copied and checked property by property
    into every figure (60 ms each, most of an overview refresh); it is attached instead
    the way plotly attaches its default template, unchecked (it is plotly's own, valid),
    as a copy of its JSON: the figure is the same."""
    fig = go.Figure(layout=_base_layout(title))
    fig.layout._validate = False  # noqa: SLF001  # plotly's own switch for its templates
    try:
        fig.layout.template = pio.templates[TEMPLATE]
    finally:
        fig.layout._validate = True  # noqa: SLF001
    return fig


def empty_figure(message: str = "no data yet", title: str = "") -> go.Figure:
    """A figure with no axes that says why there is nothing to draw."""
    fig = _figure(title)
    fig.add_annotation(
        text=message,
        x=0.5,
        y=0.5,
        xref="paper",
        yref="paper",
        showarrow=False,
        font={"size": 18, "color": OUTLINE},
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return fig


def small_graph(graph_id: str, lang: str) -> dcc.Graph:
    """A chart's slot in a page, saying "no data yet" until its refresh fills it."""
    return dcc.Graph(
        id=graph_id,
        figure=empty_figure(t("no_data", lang)),
        config={"displaylogo": False, "displayModeBar": False},
        className="small-graph",
    )


def metric_label(metric: str) -> str:
    """A metric's name with its unit, as shown on axes and selectors."""
    spec = METRICS.get(metric)
    return f"{metric} ({spec.unit})" if spec else metric


def latest_means(rollups: Sequence[DistrictRollup], metric: str) -> dict[str, float]:
    """Each district's newest mean of ``metric``; districts without one are absent."""
    return {r.district: r.mean for r in rollups if r.metric == metric and not math.isnan(r.mean)}


def city_map(
    shapes: CityShapes, rollups: Sequence[DistrictRollup], metric: str, lang: str = "en"
) -> go.Figure:
    """The districts as filled polygons coloured by the newest mean of ``metric``."""
    districts = [d for d in shapes.districts if d.ring]
    title = t("ov_map_title", lang, metric=metric_label(metric))
    if not districts:
        return empty_figure(t("ov_no_map", lang), title)
    means = latest_means(rollups, metric)
    low, high = _colour_range(means.values())
    empty_title = t("ov_map_empty", lang, metric=metric_label(metric))
    minute = max((r.window_start for r in rollups if r.metric == metric), default=None)
    shown = title  # the queries give complete minutes only: say which one
    if minute is not None:
        shown += " · " + t("last_complete_minute", lang, minute=f"{minute:%H:%M}")
    fig = _figure(shown if means else empty_title)
    fig.update_layout(uirevision=title)  # a new minute keeps the viewer's zoom
    for district in districts:
        fig.add_trace(_district_trace(district, means.get(district.code), low, high))
    if shapes.city and shapes.city.ring:
        fig.add_trace(_outline_trace(shapes.city))
    fig.add_trace(_label_trace(districts, means, metric))
    if means:
        fig.add_trace(_colourbar_trace(low, high, metric))
    _equal_aspect(fig, [p for d in districts for p in d.ring])
    return fig


def _colour_range(values: Iterable[float]) -> tuple[float, float]:
    listed = list(values)
    if not listed:
        return 0.0, 1.0
    low, high = min(listed), max(listed)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def _fill_colour(mean: float | None, low: float, high: float) -> str:
    if mean is None:
        return NO_DATA_FILL
    return str(sample_colorscale(COLORSCALE, [(mean - low) / (high - low)])[0])


def _district_trace(district: Area, mean: float | None, low: float, high: float) -> go.Scatter:
    lons, lats = zip(*district.ring, strict=True)
    shown = "no data" if mean is None else f"{mean:.4g}"
    return go.Scatter(
        x=lons,
        y=lats,
        mode="lines",
        fill="toself",
        fillcolor=_fill_colour(mean, low, high),
        line={"color": OUTLINE, "width": 1},
        opacity=0.85,
        hoveron="fills",
        name=f"{district.name} {district.name_zh}: {shown}",
        meta=district.code,
        hoverinfo="name",
        showlegend=False,
    )


def _outline_trace(city: Area) -> go.Scatter:
    lons, lats = zip(*city.ring, strict=True)
    return go.Scatter(
        x=lons,
        y=lats,
        mode="lines",
        line={"color": OUTLINE, "width": 3},
        hoverinfo="skip",
        showlegend=False,
    )


def _label_trace(districts: Sequence[Area], means: dict[str, float], metric: str) -> go.Scatter:
    centroids = [d.centroid for d in districts]
    values = [means.get(d.code) for d in districts]
    text = [
        f"{d.name_zh or d.name}<br>{'—' if v is None else f'{v:.4g}'}"
        for d, v in zip(districts, values, strict=True)
    ]
    hover = [
        f"{d.name} {d.name_zh} ({d.code})<br>{metric_label(metric)}: "
        f"{'no data' if v is None else f'{v:.4g}'}"
        for d, v in zip(districts, values, strict=True)
    ]
    return go.Scatter(
        x=[c[0] for c in centroids],
        y=[c[1] for c in centroids],
        mode="text",
        text=text,
        hovertext=hover,
        hoverinfo="text",
        textfont={"color": "#f9fafb", "size": 13},
        showlegend=False,
    )


def _colourbar_trace(low: float, high: float, metric: str) -> go.Scatter:
    """An invisible marker trace whose only job is to show the colour scale."""
    return go.Scatter(
        x=[None],
        y=[None],
        mode="markers",
        hoverinfo="skip",
        showlegend=False,
        marker={
            "colorscale": COLORSCALE,
            "cmin": low,
            "cmax": high,
            "color": [low],
            "showscale": True,
            "colorbar": {"title": {"text": metric_label(metric)}},
        },
    )


def _equal_aspect(fig: go.Figure, points: Sequence[tuple[float, float]]) -> None:
    """A kilometre east is as long as a kilometre north: a degree of longitude is
    cos(latitude) as long as a degree of latitude."""
    mean_lat = sum(p[1] for p in points) / len(points)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(
        visible=False, scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(mean_lat)), 0.01)
    )


def event_rate_chart(
    points: Sequence[RatePoint], lang: str = "en", alerts: Sequence[AlertRow] = ()
) -> go.Figure:
    """Valid events per second across the city, one point per complete minute of event
    time; minutes without any event are drawn as zero, not bridged. The alerts and
    incidents of the viewer's area are marked where they were raised."""
    title = t("ov_rate_title", lang)
    if not points:
        return empty_figure(t("no_data", lang), title)
    filled = complete_minutes(points)
    fig = _figure(title)
    fig.add_trace(
        go.Scatter(
            x=[p.window_start for p in filled],
            y=[p.per_second for p in filled],
            mode="lines+markers",
            line={"color": "#38bdf8", "width": 2},
            name="events/s",
            hovertemplate="%{x|%H:%M} UTC: %{y:.1f} events/s<extra></extra>",
        )
    )
    fig.update_yaxes(rangemode="tozero", title_text="events/s")
    add_marks(fig, marks_of(alerts, filled[0].window_start, lang))
    return fig


def complete_minutes(points: Sequence[RatePoint]) -> list[RatePoint]:
    """The minutes of a rate series that are over, silent ones as zero: the newest minute
    (event time) is still filling up, and drawn it makes every rate chart dip at its right
    edge. A series of one minute is all there is, so it stays (a fresh start)."""
    if not points:
        return []
    filled = fill_minutes(points)
    return filled[:-1] if len(filled) > 1 else filled


def fill_minutes(points: Sequence[RatePoint]) -> list[RatePoint]:
    """The points with a zero for every missing minute between the first and the last."""
    counts = {p.window_start: p.count for p in points}
    start, end = min(counts), max(counts)
    minutes = int((end - start).total_seconds() // 60)
    stamps = (start + timedelta(minutes=m) for m in range(minutes + 1))
    return [RatePoint(t, counts.get(t, 0)) for t in stamps]


def dead_letter_chart(counts: DeadLetterCounts, lang: str = "en") -> go.Figure:
    """Messages that could not be used, by reason."""
    title = t("ov_dead_total", lang, n=counts.total)
    if not counts.by_reason:
        return empty_figure(t("ov_no_dead", lang), title)
    reasons = [reason for reason, _ in counts.by_reason]
    fig = _figure(title)
    fig.add_trace(
        go.Bar(
            x=reasons,
            y=[n for _, n in counts.by_reason],
            marker_color="#f97316",
            hovertemplate="%{x}: %{y}<extra></extra>",
        )
    )
    fig.update_yaxes(rangemode="tozero")
    return fig
