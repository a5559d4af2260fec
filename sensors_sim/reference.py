"""Write the city's reference data (areas and sources, and the catalog's default
departments and family entries) to ClickHouse.

Both tables are ReplacingMergeTree(updated_at): writing the same city again replaces its
rows instead of duplicating them. The catalog defaults are version 0, so writing them
again never undoes an edit made with citybrain-catalog.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from clickhouse_driver import Client

from detectors.contract.city import Area
from detectors.contract.tables import AREAS, SOURCES, source_row
from infra.catalog import CatalogStore, write_defaults
from infra.clickhouse import connect, ensure_schema
from infra.settings import CommonSettings
from sensors_sim.city import CityModel


@dataclass(frozen=True, slots=True)
class ReferenceWritten:
    """How many rows went where."""

    database: str
    areas: int
    sources: int
    catalog: int = 0


def area_rows(city: CityModel, updated_at: int) -> list[tuple[object, ...]]:
    """One row per area, in the areas spec's column order; each carries the codes of its
    ancestors."""
    parents = {area.code: area.parent for area in city.areas}
    return [_area_row(area, parents, updated_at) for area in city.areas]


def _area_row(area: Area, parents: dict[str, str], updated_at: int) -> tuple[object, ...]:
    codes = _ancestry(area.code, parents)  # [city, district, street, grid][:depth]
    city, district, street = (codes + ["", "", ""])[:3]
    lon, lat = area.centroid
    ring = orjson.dumps([list(point) for point in area.ring]).decode()
    return (
        area.level, area.code, area.parent, city, district, street, area.name,
        area.name_zh, ring, round(lon, 6), round(lat, 6), updated_at,
    )  # fmt: skip


def _ancestry(code: str, parents: dict[str, str]) -> list[str]:
    chain = [code]
    while parents.get(chain[0]):
        chain.insert(0, parents[chain[0]])
    return chain


def source_rows(city: CityModel, updated_at: int) -> list[tuple[object, ...]]:
    """One row per source of the city."""
    return [source_row(source, updated_at) for source in city.sources]


def write_reference(
    settings: CommonSettings,
    city: CityModel,
    clock: Callable[[], float] = time.time,
    client_factory: Callable[[CommonSettings], Client] = connect,
) -> ReferenceWritten:
    """Create the schema if missing, then insert every area and source of ``city``."""
    ensure_schema(settings)
    updated_at = int(clock())
    database = settings.clickhouse_database
    areas, sources = area_rows(city, updated_at), source_rows(city, updated_at)
    client = client_factory(settings)
    try:
        # Rows always go as the data argument: literal VALUES hang the 18.16 server.
        client.execute(AREAS.insert_sql(database), areas)
        client.execute(SOURCES.insert_sql(database), sources)
    finally:
        client.disconnect()
    store = CatalogStore(lambda: client_factory(settings), database)
    catalog = write_defaults(store, city.sources, settings.kafka_topic_prefix, updated_at * 1000)
    return ReferenceWritten(database, len(areas), len(sources), catalog)
