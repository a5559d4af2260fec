"""Reference rows for the areas and sources tables, built without a server."""

from __future__ import annotations

import orjson

from detectors.contract.tables import AREAS, SOURCES
from sensors_sim.city import build_city
from sensors_sim.reference import area_rows, source_rows


def test_area_rows_carry_their_ancestry_and_ring() -> None:
    city = build_city(2)
    rows = {row[1]: dict(zip(AREAS.names, row, strict=True)) for row in area_rows(city, 1000)}
    assert len(rows) == len(city.areas)
    grid = rows["D3-S2-G07"]
    assert (grid["level"], grid["parent"], grid["city"], grid["district"], grid["street"]) == (
        "grid", "D3-S2", "CB", "D3", "D3-S2",
    )  # fmt: skip
    assert (rows["D3"]["city"], rows["D3"]["district"], rows["D3"]["street"]) == ("CB", "D3", "")
    assert (rows["CB"]["city"], rows["CB"]["district"], rows["CB"]["parent"]) == ("CB", "", "")
    ring = orjson.loads(str(grid["ring"]))
    assert ring[0] == ring[-1] and len(ring) == 5
    assert grid["updated_at"] == 1000


def test_source_rows_list_sorted_metrics() -> None:
    city = build_city(2)
    rows = [dict(zip(SOURCES.names, row, strict=True)) for row in source_rows(city, 5)]
    assert len(rows) == len(city.sources)
    for row in rows:
        metrics = row["metrics"]
        assert isinstance(metrics, list) and metrics == sorted(metrics)
        assert str(row["grid"]).startswith(str(row["street"]))
