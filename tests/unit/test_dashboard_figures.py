"""The dashboard's figures: pure, JSON-serialisable, and clear when there is no data."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import plotly.graph_objects as go
import pytest
from plotly.colors import sample_colorscale

from dashboard import figures
from dashboard.queries import (
    CityShapes,
    DeadLetterCounts,
    DistrictRollup,
    RatePoint,
)
from dashboard.scope import Role, Scope
from tests.dashboard_fake import FakeQueries

T0 = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)


def _annotation_texts(fig: go.Figure) -> list[str]:
    return [a.text for a in fig.layout.annotations]


def _fills(fig: go.Figure) -> list[go.Scatter]:
    return [t for t in fig.data if getattr(t, "fill", None) == "toself"]


def test_empty_figure_says_why_and_hides_axes() -> None:
    fig = figures.empty_figure("no data yet", "title")
    assert _annotation_texts(fig) == ["no data yet"]
    assert fig.layout.xaxis.visible is False and fig.layout.yaxis.visible is False
    fig.to_json()


def test_city_map_without_districts_says_so() -> None:
    fig = figures.city_map(CityShapes(None, ()), [], "pm25")
    assert _annotation_texts(fig) == ["no district map yet"]
    assert not fig.data


def test_city_map_without_rollups_draws_grey_districts() -> None:
    shapes = FakeQueries().shapes
    fig = figures.city_map(shapes, [], "pm25")
    fills = _fills(fig)
    assert len(fills) == 4
    assert {t.fillcolor for t in fills} == {figures.NO_DATA_FILL}
    assert "no data yet" in fig.layout.title.text
    fig.to_json()


def test_city_map_colours_each_district_by_its_latest_mean() -> None:
    fake = FakeQueries()
    fig = figures.city_map(fake.shapes, fake.rollups, "pm25")
    fills = {t.meta: t.fillcolor for t in _fills(fig)}
    # D1 35.0, D2 75.5 (the highest), D3 20.0 (the lowest); D4 has no pm25.
    assert fills["D4"] == figures.NO_DATA_FILL
    assert len({fills["D1"], fills["D2"], fills["D3"]}) == 3
    assert figures.NO_DATA_FILL not in (fills["D1"], fills["D2"], fills["D3"])
    assert fills["D2"] == sample_colorscale(figures.COLORSCALE, [1.0])[0]
    assert fills["D3"] == sample_colorscale(figures.COLORSCALE, [0.0])[0]
    colourbar = [t for t in fig.data if t.marker and t.marker.showscale]
    assert len(colourbar) == 1
    assert (colourbar[0].marker.cmin, colourbar[0].marker.cmax) == (20.0, 75.5)
    fig.to_json()


def test_city_map_has_the_city_outline_and_labels_at_centroids() -> None:
    fake = FakeQueries()
    fig = figures.city_map(fake.shapes, fake.rollups, "pm25")
    outline = [t for t in fig.data if t.line and t.line.width == 3]
    assert len(outline) == 1 and outline[0].fill is None
    labels = next(t for t in fig.data if t.mode == "text")
    assert list(zip(labels.x, labels.y, strict=True)) == [d.centroid for d in fake.shapes.districts]
    assert labels.text[1] == "第2区<br>75.5"
    assert labels.text[3].endswith("—")


def test_city_map_keeps_a_kilometre_the_same_length_both_ways() -> None:
    fake = FakeQueries()
    fig = figures.city_map(fake.shapes, fake.rollups, "pm25")
    assert fig.layout.yaxis.scaleanchor == "x"
    # The fake districts span latitudes 30.0-30.2; the ring vertices average 30.1.
    points = [p for d in fake.shapes.districts for p in d.ring]
    mean_lat = sum(p[1] for p in points) / len(points)
    assert fig.layout.yaxis.scaleratio == pytest.approx(1 / math.cos(math.radians(mean_lat)))


def test_city_map_ignores_a_nan_mean() -> None:
    shapes = FakeQueries().shapes
    rollups = [DistrictRollup("D1", "pm25", T0, 0, float("nan"), 0.0, 0.0)]
    fig = figures.city_map(shapes, rollups, "pm25")
    assert {t.fillcolor for t in _fills(fig)} == {figures.NO_DATA_FILL}


def test_city_map_with_one_value_still_has_a_colour_range() -> None:
    shapes = FakeQueries().shapes
    rollups = [DistrictRollup("D1", "noise", T0, 5, 60.0, 55.0, 70.0)]
    fig = figures.city_map(shapes, rollups, "noise")
    bar = next(t for t in fig.data if t.marker and t.marker.showscale)
    assert bar.marker.cmin < 60.0 < bar.marker.cmax
    assert "dB(A)" in fig.layout.title.text


def test_event_rate_chart_empty_and_full() -> None:
    assert _annotation_texts(figures.event_rate_chart([])) == ["no data yet"]
    points = [RatePoint(T0 + timedelta(minutes=m), 600) for m in range(3)]
    points.append(RatePoint(T0 + timedelta(minutes=3), 12))  # still filling up: not drawn
    fig = figures.event_rate_chart(points)
    assert list(fig.data[0].y) == [10.0, 10.0, 10.0]
    assert list(fig.data[0].x) == [p.window_start for p in points[:3]]
    fig.to_json()


def test_fill_minutes_draws_a_silent_minute_as_zero() -> None:
    points = [RatePoint(T0, 60), RatePoint(T0 + timedelta(minutes=3), 120)]
    filled = figures.fill_minutes(points)
    assert [p.count for p in filled] == [60, 0, 0, 120]
    assert filled[1].window_start == T0 + timedelta(minutes=1)


def test_dead_letter_chart_empty_and_full() -> None:
    assert _annotation_texts(figures.dead_letter_chart(DeadLetterCounts(0, ()))) == [
        "no dead letters"
    ]
    counts = DeadLetterCounts(5, (("bad_json", 3), ("out_of_range", 2)))
    fig = figures.dead_letter_chart(counts)
    assert list(fig.data[0].x) == ["bad_json", "out_of_range"]
    assert list(fig.data[0].y) == [3, 2]
    assert "total 5" in fig.layout.title.text
    fig.to_json()


def test_every_overview_figure_carries_the_whole_dark_template_as_naming_it_would() -> None:
    named = go.Figure(layout={"template": figures.TEMPLATE}).layout.template
    fake, scope = FakeQueries(), Scope(Role.CITY_COMMANDER, "", "commander")
    drawn = [
        figures.city_map(fake.district_shapes(scope), fake.latest_district_rollups(scope), "pm25"),
        figures.event_rate_chart(fake.event_rate(scope)),
        figures.dead_letter_chart(fake.dead_letter_counts(scope)),
        figures.empty_figure("nothing"),
    ]
    for fig in drawn:
        assert fig.layout.template == named
        assert fig.to_plotly_json()["layout"]["template"] == named.to_plotly_json()
        assert fig.layout.paper_bgcolor == figures.BACKGROUND
    drawn[0].layout.template.layout.font.color = "red"  # a figure's copy, not plotly's own
    assert figures.empty_figure("again").layout.template == named
