"""The map of a tier, drawn from the city model's own rings: no tile server, no internet.

Areas are filled by the highest level of their active alerts; polygons of one colour share
one trace (rings separated by gaps), so a city of thousands of cells is a handful of
traces. Sensors are counted per grid cell on the server and drawn as one marker per cell;
only a single cell's view draws its sensors one by one. Every marker carries the address
it drills down to (``customdata``), which a click opens.

A tile server (``CITYBRAIN_DASHBOARD_TILE_URL``) is an option: the same traces are then
drawn over its raster tiles.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import plotly.graph_objects as go

from dashboard.components import LEVEL_COLOUR
from dashboard.figures import BACKGROUND, OUTLINE, empty_figure
from dashboard.i18n import t
from dashboard.model import AlertRow, AreaTree, SensorCell, SensorInfo
from dashboard.routes import Route, area_href, child_level, href
from dashboard.scope import Page
from detectors.contract.city import Area

FAMILY_COLOUR = {
    "environment": "#22c55e",
    "traffic": "#a855f7",
    "water": "#38bdf8",
    "power": "#facc15",
}


def worst_levels(alerts: Iterable[AlertRow], level: str) -> dict[str, int]:
    """The highest active alert level (1..4) per area code at ``level``."""
    worst: dict[str, int] = {}
    for alert in alerts:
        if alert.active and alert.level is not None:
            code = alert.place.code(level)
            worst[code] = max(worst.get(code, 0), int(alert.level))
    return worst


def tier_map(
    level: str,
    area: Area,
    tree: AreaTree,
    alerts: Sequence[AlertRow],
    cells: Sequence[SensorCell],
    sensors: Sequence[SensorInfo],
    lang: str,
    tile_url: str = "",
    wall: bool = False,
) -> go.Figure:
    """The area with what lies below it, coloured by alert level, with sensors."""
    title = f"{_name(area, lang)}: {t('map_title', lang)}"
    grid_cells = [c for c in tree.descendants(area.code, "grid") if c.ring]
    below = child_level(level)
    children = [c for c in tree.children(area.code) if c.ring] if below else []
    if not area.ring and not grid_cells:
        return empty_figure(t("no_data", lang), title)
    fig = go.Figure(layout=_layout(title))
    cell_levels = worst_levels(alerts, "grid")
    if level == "city":
        _add_fills(fig, children, worst_levels(alerts, "district"), width=2)
        alerted = [c for c in grid_cells if cell_levels.get(c.code)]
        _add_fills(fig, alerted, cell_levels, width=0.5, skip_empty=True)
    else:
        _add_fills(fig, grid_cells, cell_levels, width=0.5)
        if level == "district":
            _add_outlines(fig, children, width=2.5)
    _add_outlines(fig, [area], width=3)
    if level == "grid":
        fig.add_trace(_sensor_trace(sensors, lang, wall))
    else:
        fig.add_trace(_cell_trace(cells, lang, wall))
        fig.add_trace(_label_trace(children, below, lang, wall))
    _frame(fig, [p for c in ([area] if area.ring else grid_cells) for p in c.ring])
    return with_tiles(fig, tile_url) if tile_url else fig


def _name(area: Area, lang: str) -> str:
    return (area.name_zh or area.name) if lang == "zh" else (area.name or area.code)


def _layout(title: str) -> dict[str, object]:
    return {
        "title": {"text": title, "x": 0.01},
        # The dark look set directly: a named template is deep-copied into every figure,
        # which costs more than drawing a district on each refresh.
        "font": {"color": "#e5e7eb"},
        "paper_bgcolor": BACKGROUND,
        "plot_bgcolor": BACKGROUND,
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10},
        "uirevision": title,
        "showlegend": False,
        "clickmode": "event",
        "hovermode": "closest",
    }


def _rings(areas: Sequence[Area]) -> tuple[list[float | None], list[float | None]]:
    lons: list[float | None] = []
    lats: list[float | None] = []
    for area in areas:
        lons.extend([p[0] for p in area.ring] + [None])
        lats.extend([p[1] for p in area.ring] + [None])
    return lons, lats


def _add_fills(
    fig: go.Figure,
    areas: Sequence[Area],
    levels: dict[str, int],
    width: float,
    skip_empty: bool = False,
) -> None:
    """One filled trace per colour."""
    for rank in sorted({levels.get(a.code, 0) for a in areas}):
        if skip_empty and rank == 0:
            continue
        members = [a for a in areas if levels.get(a.code, 0) == rank]
        lons, lats = _rings(members)
        fig.add_trace(
            go.Scatter(
                x=lons,
                y=lats,
                mode="lines",
                fill="toself",
                fillcolor=LEVEL_COLOUR[rank],
                opacity=0.85 if rank else 0.6,
                line={"color": OUTLINE, "width": width},
                hoverinfo="skip",
                name=f"level-{rank}",
            )
        )


def _add_outlines(fig: go.Figure, areas: Sequence[Area], width: float) -> None:
    lons, lats = _rings([a for a in areas if a.ring])
    fig.add_trace(
        go.Scatter(
            x=lons,
            y=lats,
            mode="lines",
            hoverinfo="skip",
            name="outline",
            line={"color": OUTLINE, "width": width},
        )
    )


def _cell_trace(cells: Sequence[SensorCell], lang: str, wall: bool) -> go.Scatter:
    """One marker per grid cell, its area growing with the number of sensors."""
    largest = max((c.sensors for c in cells), default=1)
    sizes = [6 + 16 * math.sqrt(c.sensors / largest) for c in cells]
    hover = [
        f"{c.grid}: {c.sensors} {t('sensors', lang)}<br>"
        + ", ".join(f"{family} {n}" for family, n in c.by_family)
        for c in cells
    ]
    return go.Scatter(
        x=[c.lon for c in cells],
        y=[c.lat for c in cells],
        mode="markers",
        marker={
            "size": [s * (1.4 if wall else 1) for s in sizes],
            "color": "#e5e7eb",
            "opacity": 0.55,
            "line": {"color": "#111827", "width": 1},
        },
        customdata=[area_href("grid", c.grid, wall) for c in cells],
        hovertext=hover,
        hoverinfo="text",
        name="sensor-cells",
    )


def _label_trace(children: Sequence[Area], level: str, lang: str, wall: bool) -> go.Scatter:
    centroids = [c.centroid for c in children]
    return go.Scatter(
        x=[p[0] for p in centroids],
        y=[p[1] for p in centroids],
        mode="markers+text",
        text=[_name(c, lang) for c in children],
        textposition="top center",
        textfont={"color": "#f9fafb", "size": 18 if wall else 13},
        marker={"size": 14, "color": "#f9fafb", "symbol": "circle-open", "line": {"width": 2}},
        customdata=[area_href(level, c.code, wall) for c in children],
        hovertext=[f"{_name(c, lang)} ({c.code})" for c in children],
        hoverinfo="text",
        name="areas",
    )


def _sensor_trace(sensors: Sequence[SensorInfo], lang: str, wall: bool) -> go.Scatter:
    return go.Scatter(
        x=[s.lon for s in sensors],
        y=[s.lat for s in sensors],
        mode="markers+text",
        text=[s.source_id for s in sensors],
        textposition="top center",
        textfont={"color": "#d1d5db", "size": 11},
        marker={
            "size": 14 if wall else 11,
            "color": [FAMILY_COLOUR.get(s.family, "#9ca3af") for s in sensors],
            "line": {"color": "#111827", "width": 1},
        },
        customdata=[href(Route(Page.SENSOR, code=s.source_id, wall=wall)) for s in sensors],
        hovertext=[f"{s.source_id} ({s.kind}): {', '.join(s.metrics)}" for s in sensors],
        hoverinfo="text",
        name="sensors",
    )


def _frame(fig: go.Figure, points: Sequence[tuple[float, float]]) -> None:
    """Equal kilometres east and north: a degree of longitude is cos(latitude) long."""
    mean_lat = sum(p[1] for p in points) / len(points) if points else 30.0
    fig.update_xaxes(visible=False)
    fig.update_yaxes(
        visible=False, scaleanchor="x", scaleratio=1.0 / max(math.cos(math.radians(mean_lat)), 0.01)
    )


def with_tiles(fig: go.Figure, tile_url: str) -> go.Figure:
    """The same traces drawn over a raster tile server's map."""
    lons = [x for tr in fig.data for x in (tr.x or ()) if x is not None]
    lats = [y for tr in fig.data for y in (tr.y or ()) if y is not None]
    tiled = go.Figure(layout=fig.layout)
    for trace in fig.data:
        props = {
            k: getattr(trace, k)
            for k in (
                "mode",
                "fill",
                "fillcolor",
                "opacity",
                "text",
                "customdata",
                "hovertext",
                "hoverinfo",
                "name",
            )
        }
        tiled.add_trace(
            go.Scattermap(
                lon=trace.x,
                lat=trace.y,
                marker=_map_marker(trace.marker),
                line={"color": trace.line.color, "width": trace.line.width} if trace.line else None,
                **{k: v for k, v in props.items() if v is not None},
            )
        )
    centre = {"lon": sum(lons) / len(lons), "lat": sum(lats) / len(lats)} if lons else None
    span = max(max(lons) - min(lons), max(lats) - min(lats), 1e-4) if lons else 1.0
    tiled.update_layout(
        map={
            "style": "white-bg",
            "center": centre,
            "zoom": max(0.0, math.log2(360 / span) - 0.5),
            "layers": [{"sourcetype": "raster", "source": [tile_url], "below": "traces"}],
        }
    )
    return tiled


def _map_marker(marker: object) -> dict[str, object] | None:
    if marker is None:
        return None
    size = getattr(marker, "size", None)
    colour = getattr(marker, "color", None)
    return {k: v for k, v in (("size", size), ("color", colour)) if v is not None}
