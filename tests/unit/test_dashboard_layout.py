"""The overview page: every id the callbacks need is on it, and its pieces render data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from dash import html

from dashboard import ids, layout
from dashboard.queries import CityShapes, DistrictRollup, RatePoint
from detectors.contract.events import METRICS
from tests.dashboard_fake import FakeQueries, walk

T0 = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)


def _ids(component: Any) -> list[str]:
    return [c.id for c in walk(component) if getattr(c, "id", None)]


def _texts(component: Any) -> list[str]:
    return [c.children for c in walk(component) if isinstance(getattr(c, "children", None), str)]


def test_layout_has_every_id_once() -> None:
    expected = set(ids.OVERVIEW)
    found = _ids(layout.build_layout(2000))
    assert sorted(found) == sorted(expected)


def test_layout_refreshes_at_the_configured_interval_with_the_default_metric() -> None:
    page = layout.build_layout(750, default_metric="noise")
    by_id = {c.id: c for c in walk(page) if getattr(c, "id", None)}
    assert by_id[ids.REFRESH].interval == 750
    assert by_id[ids.METRIC].value == "noise"
    assert [o["value"] for o in by_id[ids.METRIC].options] == list(METRICS)
    assert by_id[ids.METRIC].options[0]["label"] == "pm25 (ug/m3)"


def test_city_title_comes_from_the_city_model() -> None:
    assert layout.city_title(FakeQueries().shapes) == "Citybrain 城脑市"
    assert layout.city_title(CityShapes(None, ())) == "citybrain"


def test_district_table_has_a_row_per_district_with_its_latest_rollup() -> None:
    fake = FakeQueries()
    table = layout.district_table(fake.shapes, fake.rollups, "pm25")
    assert isinstance(table, html.Table)
    rows = [c for c in walk(table) if isinstance(c, html.Tr)][1:]
    cells = [[td.children for td in row.children] for row in rows]
    assert cells[0] == ["D1", "District 1 第1区", "08:29", "120", "35", "12", "80"]
    assert cells[2] == ["D3", "District 3 第3区", "08:27", "90", "20", "5", "41"]
    assert cells[3] == ["D4", "District 4 第4区", "—", "—", "—", "—", "—"]


def test_district_table_shows_districts_missing_from_the_map() -> None:
    rollups = [DistrictRollup("D9", "pm25", T0, 3, 1.5, 1.0, 2.0)]
    table = layout.district_table(CityShapes(None, ()), rollups, "pm25")
    assert "D9" in _texts(table)


def test_district_table_without_anything_says_no_data_yet() -> None:
    empty = layout.district_table(CityShapes(None, ()), [], "pm25")
    assert isinstance(empty, html.P) and empty.children == "no data yet"


def test_kpis_use_the_last_full_minute_and_the_newest_window() -> None:
    points = [RatePoint(T0 + timedelta(minutes=m), 600 * (m + 1)) for m in range(3)]
    assert layout.events_per_second_text(points) == "20.0 (08:01)"
    assert layout.events_per_second_text(points[:1]) == "10.0 (08:00)"
    assert layout.events_per_second_text([]) == "—"
    assert layout.last_data_text(points) == "2025-11-26 08:02 UTC"
    assert layout.last_data_text([]) == "—"


def test_kpi_counts_a_silent_last_full_minute_as_zero() -> None:
    points = [RatePoint(T0, 600), RatePoint(T0 + timedelta(minutes=2), 60)]
    assert layout.events_per_second_text(points) == "0.0 (08:01)"


def test_status_banner_is_empty_when_all_is_well() -> None:
    assert layout.status_banner("") == []
    (banner,) = layout.status_banner("data source unavailable: down")
    assert banner.children == "data source unavailable: down"
    assert vars(banner)["role"] == "alert"
