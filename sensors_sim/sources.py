"""Which sensors, assets and case reporters sit in each grid cell.

Counts are drawn per cell from each kind's share of ``sensors_per_cell``; the seed fixes
every count, metric set and position, so the same city always has the same sources.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from detectors.contract.city import Ring
from detectors.contract.events import CASE_METRIC, Family, Location, Source
from sensors_sim.geometry import point_in_quad

MetricSet = tuple[str, ...]

AIR_FULL: MetricSet = ("pm25", "pm10", "no2", "o3", "noise", "temperature", "humidity")


@dataclass(frozen=True, slots=True)
class CellSite:
    """A grid cell as a place to put sources: its location codes, ring and terrain."""

    location: Location
    ring: Ring
    on_river: bool


@dataclass(frozen=True, slots=True)
class SourceKind:
    """A kind of source: its family, id prefix, share of a cell's sources, cadence and the
    metric sets its models measure (with their weights)."""

    kind: str
    family: Family
    prefix: str
    share: float
    cadence_s: int
    metric_sets: tuple[tuple[MetricSet, float], ...]


CELL_KINDS: tuple[SourceKind, ...] = (
    SourceKind(
        "air_station", Family.ENVIRONMENT, "ENV", 0.22, 60,
        (
            (AIR_FULL, 0.5),
            (("pm25", "pm10", "no2", "o3"), 0.2),
            (("pm25", "pm10", "temperature", "humidity"), 0.15),
            (("noise",), 0.15),
        ),
    ),
    SourceKind(
        "traffic_detector", Family.TRAFFIC, "TRF", 0.36, 30,
        (
            (("flow", "speed", "occupancy", "signal_fault"), 0.6),
            (("flow", "speed", "occupancy"), 0.4),
        ),
    ),
    SourceKind("rain_gauge", Family.WATER, "WAT", 0.05, 300, ((("rainfall",), 1.0),)),
    SourceKind("drain_sensor", Family.WATER, "WAT", 0.12, 60, ((("pipe_level",), 1.0),)),
    SourceKind("pressure_sensor", Family.WATER, "WAT", 0.05, 60, ((("main_pressure",), 1.0),)),
    SourceKind(
        "feeder_meter", Family.POWER, "FDR", 0.20, 60,
        ((("load", "voltage", "frequency", "breaker_open"), 1.0),),
    ),
)  # fmt: skip

RIVER_GAUGE = SourceKind("river_gauge", Family.WATER, "WAT", 0.3, 300, ((("water_level",), 1.0),))
"""Only on cells along the river; its share is of the river cell's sensors_per_cell."""

GRID_WORKER = SourceKind("grid_worker", Family.CASE, "GW", 0.0, 86400, (((CASE_METRIC,), 1.0),))
"""One per street: the grid worker (网格员) who files case reports there."""


def place_sources(
    sites: Sequence[CellSite], seed: int, sensors_per_cell: float
) -> tuple[Source, ...]:
    """Every source of the city: sensors per cell, then one grid worker per street."""
    rng = random.Random(f"citybrain-sources:{seed}")
    numbers: dict[str, int] = {}
    placed = []
    for site in sites:
        kinds = CELL_KINDS + ((RIVER_GAUGE,) if site.on_river else ())
        for kind in kinds:
            for _ in range(_draw_count(sensors_per_cell * kind.share, rng)):
                placed.append(_source(kind, site, _next_id(kind.prefix, numbers), rng))
    for street_sites in _by_street(sites):
        site = rng.choice(street_sites)
        placed.append(_source(GRID_WORKER, site, _next_id(GRID_WORKER.prefix, numbers), rng))
    return tuple(placed)


def _draw_count(expected: float, rng: random.Random) -> int:
    whole = int(expected)
    return whole + (1 if rng.random() < expected - whole else 0)


def _next_id(prefix: str, numbers: dict[str, int]) -> str:
    numbers[prefix] = numbers.get(prefix, 0) + 1
    return f"{prefix}-{numbers[prefix]:04d}"


def _source(kind: SourceKind, site: CellSite, source_id: str, rng: random.Random) -> Source:
    metric_sets = [metrics for metrics, _ in kind.metric_sets]
    weights = [weight for _, weight in kind.metric_sets]
    metrics = rng.choices(metric_sets, weights)[0]
    lon, lat = point_in_quad(site.ring, rng.uniform(0.12, 0.88), rng.uniform(0.12, 0.88))
    return Source(
        source_id=source_id,
        family=kind.family,
        kind=kind.kind,
        metrics=frozenset(metrics),
        location=site.location,
        lon=lon,
        lat=lat,
        cadence_s=kind.cadence_s,
    )


def _by_street(sites: Sequence[CellSite]) -> Iterator[list[CellSite]]:
    streets: dict[str, list[CellSite]] = {}
    for site in sites:
        streets.setdefault(site.location.street, []).append(site)
    yield from streets.values()
