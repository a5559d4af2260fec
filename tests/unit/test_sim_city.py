"""The simulated city: hierarchy, geometry that tiles, sources inside their cells."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from detectors.contract.events import METRICS, Family
from sensors_sim.city import CityModel, build_city, registry
from sensors_sim.geometry import contains, signed_area


@pytest.fixture(scope="module")
def city() -> CityModel:
    return build_city(seed=11)


def test_same_seed_same_city_and_other_seed_other_geometry() -> None:
    assert build_city(5) == build_city(5)
    other = build_city(6)
    assert build_city(5).level("grid")[10].ring != other.level("grid")[10].ring
    assert [a.code for a in build_city(5).areas] == [a.code for a in other.areas]


def test_levels_codes_and_parents(city: CityModel) -> None:
    counts = Counter(area.level for area in city.areas)
    assert counts == {"city": 1, "district": 6, "street": 24, "grid": 288}
    codes = {area.code: area for area in city.areas}
    assert codes["CB"].parent == ""
    assert [a.code for a in city.level("district")] == [f"D{n}" for n in range(1, 7)]
    assert codes["D1-S1"].parent == "D1"
    assert codes["D1-S1-G01"].parent == "D1-S1"
    assert codes["D6-S4-G12"].parent == "D6-S4"
    for area in city.areas:
        assert area.level == "city" or codes[area.parent].level != area.level
    assert codes["D1"].name == "Riverside" and codes["D1"].name_zh == "滨江区"
    assert all(a.name and a.name_zh for a in city.areas)


def test_rings_are_closed_counter_clockwise_and_in_the_box(city: CityModel) -> None:
    for area in city.areas:
        assert area.ring[0] == area.ring[-1]
        assert len(area.ring) >= 5
        assert signed_area(area.ring) > 0
        for lon, lat in area.ring:
            assert 120.05 <= lon <= 120.35 and 30.15 <= lat <= 30.35


def _area(rings: list[tuple[tuple[float, float], ...]]) -> float:
    return sum(signed_area(ring) for ring in rings)


def test_cells_tile_streets_districts_and_the_city(city: CityModel) -> None:
    cells = city.level("grid")
    streets = city.level("street")
    districts = city.level("district")
    city_area = signed_area(city.level("city")[0].ring)
    assert abs(_area([c.ring for c in cells]) - city_area) < 1e-9
    assert abs(_area([s.ring for s in streets]) - city_area) < 1e-9
    assert abs(_area([d.ring for d in districts]) - city_area) < 1e-9
    for street in streets:
        own = [c.ring for c in cells if c.parent == street.code]
        assert len(own) == 12
        assert abs(_area(own) - signed_area(street.ring)) < 1e-12


def test_each_cell_centroid_lies_in_its_street_and_no_other(city: CityModel) -> None:
    streets = {s.code: s for s in city.level("street")}
    for cell in city.level("grid"):
        inside = [code for code, s in streets.items() if contains(s.ring, cell.centroid)]
        assert inside == [cell.parent]


def test_cells_are_irregular_not_a_plain_grid(city: CityModel) -> None:
    areas = {round(signed_area(c.ring), 9) for c in city.level("grid")}
    assert len(areas) > 100


def test_sources_sit_inside_their_cells_with_known_metrics(city: CityModel) -> None:
    cells = {c.code: c for c in city.level("grid")}
    for source in city.sources:
        assert contains(cells[source.location.grid].ring, (source.lon, source.lat))
        assert source.metrics
        assert all(METRICS[m].family is source.family for m in source.metrics)
        assert source.cadence_s > 0


def test_source_ids_kinds_and_count(city: CityModel) -> None:
    ids = [s.source_id for s in city.sources]
    assert len(ids) == len(set(ids))
    prefixes = {Family.ENVIRONMENT: "ENV", Family.TRAFFIC: "TRF", Family.WATER: "WAT",
                Family.POWER: "FDR", Family.CASE: "GW"}  # fmt: skip
    for source in city.sources:
        assert re.fullmatch(rf"{prefixes[source.family]}-\d{{4,}}", source.source_id)
    kinds = {s.kind for s in city.sources}
    assert kinds >= {"air_station", "traffic_detector", "river_gauge", "rain_gauge",
                     "drain_sensor", "pressure_sensor", "feeder_meter", "grid_worker"}  # fmt: skip
    assert 600 <= len(city.sources) <= 1000
    air = [s for s in city.sources if s.kind == "air_station"]
    assert len({s.metrics for s in air}) > 1  # some stations measure only a subset


def test_river_gauges_only_on_river_cells(city: CityModel) -> None:
    gauges = [s for s in city.sources if s.kind == "river_gauge"]
    assert gauges
    assert all(s.location.grid in city.river_grids for s in gauges)


def test_registry_knows_every_source_and_grid(city: CityModel) -> None:
    known = registry(city)
    assert len(known.sources) == len(city.sources)
    assert len(known.grids) == 288
    assert known.grids["D2-S3-G05"].street == "D2-S3"
    assert known.grids["D2-S3-G05"].district == "D2"


def test_scale_knob_reaches_ten_thousand_sources() -> None:
    big = build_city(seed=1, sensors_per_cell=34)
    assert 9_000 <= len(big.sources) <= 11_000


@pytest.mark.parametrize(
    ("districts", "streets", "rows", "cols"), [(5, 3, 2, 2), (1, 1, 1, 1), (7, 5, 3, 3)]
)
def test_other_layouts_still_tile(districts: int, streets: int, rows: int, cols: int) -> None:
    city = build_city(3, districts, streets, rows, cols)
    cells = city.level("grid")
    assert len(cells) == districts * streets * rows * cols
    city_area = signed_area(city.level("city")[0].ring)
    assert abs(_area([c.ring for c in cells]) - city_area) < 1e-9


def test_bad_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="districts"):
        build_city(1, districts=0)
