"""The simulated city: areas from city down to grid cell, and the sources placed in them.

Districts sit in a near-square block arrangement; each district is a block of streets and
each street a ``grid_rows`` x ``grid_cols`` block of grid cells of about 400 m. All of it is
drawn from one jittered lattice (:mod:`sensors_sim.geometry`), so the same seed gives the
same city, and the rings of every level tile their parent exactly.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from detectors.contract.city import Area
from detectors.contract.events import Location, Source
from detectors.contract.validation import Registry
from sensors_sim import geometry, names
from sensors_sim.geometry import Node
from sensors_sim.sources import CellSite, place_sources

CENTRE = (120.20, 30.25)
"""Where the city is drawn: inside 120.05..120.35 E, 30.15..30.35 N."""


@dataclass(frozen=True, slots=True)
class CityModel:
    """The areas (city, districts, streets, grid cells) and registered sources of a city."""

    areas: tuple[Area, ...]
    sources: tuple[Source, ...]
    river_grids: frozenset[str] = field(default_factory=frozenset)

    def level(self, level: str) -> tuple[Area, ...]:
        """The areas of one level: 'city', 'district', 'street' or 'grid'."""
        return tuple(area for area in self.areas if area.level == level)

    def grid_locations(self) -> dict[str, Location]:
        """The full location of every grid cell, keyed by grid code."""
        parents = {area.code: area.parent for area in self.areas}
        locations = {}
        for cell in self.level("grid"):
            street = cell.parent
            district = parents[street]
            locations[cell.code] = Location(parents[district], district, street, cell.code)
        return locations


@dataclass(frozen=True, slots=True)
class Layout:
    """How many of each level there are, and where their cells fall on the lattice."""

    districts: int
    streets_per_district: int
    grid_rows: int
    grid_cols: int

    @property
    def street_block(self) -> tuple[int, int]:
        """(rows, cols) of streets inside a district: the most square exact factorisation."""
        return _factor_pair(self.streets_per_district)

    @property
    def district_block(self) -> tuple[int, int]:
        """(rows, cols) of districts; the last row may be partly filled."""
        cols = math.ceil(math.sqrt(self.districts))
        return math.ceil(self.districts / cols), cols

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols) of grid cells of the whole lattice."""
        (d_rows, d_cols), (s_rows, s_cols) = self.district_block, self.street_block
        return d_rows * s_rows * self.grid_rows, d_cols * s_cols * self.grid_cols

    def node(self, district: int, street: int, cell: int) -> Node:
        """Lattice (row, col) of a grid cell, all indices 0-based."""
        d_row, d_col = divmod(district, self.district_block[1])
        s_rows, s_cols = self.street_block
        s_row, s_col = divmod(street, s_cols)
        g_row, g_col = divmod(cell, self.grid_cols)
        row = (d_row * s_rows + s_row) * self.grid_rows + g_row
        col = (d_col * s_cols + s_col) * self.grid_cols + g_col
        return row, col


def _factor_pair(n: int) -> tuple[int, int]:
    rows = max(r for r in range(1, math.isqrt(n) + 1) if n % r == 0)
    return rows, n // rows


def build_city(
    seed: int,
    districts: int = 6,
    streets_per_district: int = 4,
    grid_rows: int = 3,
    grid_cols: int = 4,
    sensors_per_cell: float = 3.0,
) -> CityModel:
    """The city of ``seed``: same arguments, same areas, geometry and sources.

    ``sensors_per_cell`` is the mean number of sensors and assets per grid cell (river
    gauges and grid workers come on top): about 900 sources by default, about 10,000 at 34.
    """
    for name, value in (
        ("districts", districts),
        ("streets_per_district", streets_per_district),
        ("grid_rows", grid_rows),
        ("grid_cols", grid_cols),
    ):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, got {value}")
    if not sensors_per_cell >= 0:
        raise ValueError(f"sensors_per_cell must be >= 0, got {sensors_per_cell}")
    layout = Layout(districts, streets_per_district, grid_rows, grid_cols)
    points = geometry.lattice(*layout.shape, centre=CENTRE, seed=seed)
    river = river_nodes(layout, seed)
    areas = tuple(_areas(layout, points, seed))
    sites = _cell_sites(layout, areas, river)
    sources = place_sources(sites, seed, sensors_per_cell)
    river_grids = frozenset(site.location.grid for site in sites if site.on_river)
    return CityModel(areas=areas, sources=sources, river_grids=river_grids)


def _street_codes(layout: Layout) -> Iterator[tuple[int, int, str, str]]:
    for d in range(layout.districts):
        for s in range(layout.streets_per_district):
            yield d, s, f"D{d + 1}", f"D{d + 1}-S{s + 1}"


def _grid_code(street_code: str, cell: int, cells: int) -> str:
    return f"{street_code}-G{cell + 1:0{max(2, len(str(cells)))}d}"


def _areas(layout: Layout, points: dict[Node, geometry.Point], seed: int) -> Iterator[Area]:
    cells_per_street = layout.grid_rows * layout.grid_cols
    street_names = names.street_names(layout.districts * layout.streets_per_district, seed)
    nodes_of: dict[str, list[Node]] = {names.CITY_CODE: []}
    grid_areas, street_areas = [], []
    for number, (d, s, district, street) in enumerate(_street_codes(layout)):
        en, zh = street_names[number]
        nodes = [layout.node(d, s, g) for g in range(cells_per_street)]
        nodes_of.setdefault(district, []).extend(nodes)
        nodes_of[names.CITY_CODE].extend(nodes)
        ring = geometry.outer_ring(nodes, points)
        street_areas.append(Area("street", street, district, en, zh, ring))
        for g, node in enumerate(nodes):
            code = _grid_code(street, g, cells_per_street)
            cell_ring = geometry.outer_ring([node], points)
            label = f"{g + 1:02d}"
            grid_areas.append(
                Area("grid", code, street, f"{en} grid {label}", f"{zh}第{label}网格", cell_ring)
            )
    yield Area(
        "city", names.CITY_CODE, "", *names.CITY_NAME,
        geometry.outer_ring(nodes_of[names.CITY_CODE], points),
    )  # fmt: skip
    for d in range(layout.districts):
        code = f"D{d + 1}"
        ring = geometry.outer_ring(nodes_of[code], points)
        yield Area("district", code, names.CITY_CODE, *names.district_name(d), ring)
    yield from street_areas
    yield from grid_areas


def river_nodes(layout: Layout, seed: int) -> frozenset[Node]:
    """Cells along a river that meanders west to east across the city."""
    rows, cols = layout.shape
    phase = (seed % 997) / 997 * 2 * math.pi
    on_river = set()
    for col in range(cols):
        x = (col + 0.5) / cols
        centre = rows * (0.45 + 0.2 * math.sin(2 * math.pi * 1.2 * x + phase))
        for row in range(rows):
            if abs(row + 0.5 - centre) < 0.75:
                on_river.add((row, col))
    return frozenset(on_river)


def _cell_sites(
    layout: Layout, areas: tuple[Area, ...], river: frozenset[Node]
) -> tuple[CellSite, ...]:
    cells_per_street = layout.grid_rows * layout.grid_cols
    rings = {area.code: area.ring for area in areas if area.level == "grid"}
    sites = []
    for d, s, district, street in _street_codes(layout):
        for g in range(cells_per_street):
            grid = _grid_code(street, g, cells_per_street)
            location = Location(names.CITY_CODE, district, street, grid)
            node = layout.node(d, s, g)
            sites.append(CellSite(location, rings[grid], node in river))
    return tuple(sites)


def registry(city: CityModel) -> Registry:
    """The validation registry the worker would load from this city's reference tables."""
    sources: Mapping[str, Source] = {source.source_id: source for source in city.sources}
    return Registry(sources=sources, grids=city.grid_locations())
