"""Stored rows back into the exact wire JSON of :mod:`detectors.contract.events`: pure.

>>> row = ("5b0c1d2e-0000-5000-8000-000000000001", 1764115200000, "water", "WAT-0007",
...        "water_level", 3.42, "CB", "D1", "D1-S2", "D1-S2-G03")
>>> out = reading_message(row)
>>> out.family, out.key, out.ts_ms
(<Family.WATER: 'water'>, b'WAT-0007', 1764115200000)
>>> out.value[:60]
b'{"event_id":"5b0c1d2e-0000-5000-8000-000000000001","schema_v'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from detectors.contract.events import SCHEMA_VERSION, Family

READING_COLUMNS = "event_id, ts_ms, family, source_id, metric, value, city, district, street, grid"
CASE_COLUMNS = (
    "event_id, ts_ms, case_id, category, status, source_id, city, district, street, grid, "
    "lon, lat, text, photo_ref"
)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a replay topic; ``ts_ms`` paces it and stamps the Kafka record."""

    family: Family
    key: bytes | None
    value: bytes
    ts_ms: int


def reading_message(row: Sequence[Any]) -> Outgoing:
    """A sensor reading row (READING_COLUMNS order) as its wire message, keyed by source."""
    event_id, ts_ms, family, source_id, metric, value, city, district, street, grid = row
    doc = {
        "event_id": event_id,
        "schema_version": SCHEMA_VERSION,
        "ts": ts_ms,
        "family": family,
        "source_id": source_id,
        "metric": metric,
        "value": value,
        "city": city,
        "district": district,
        "street": street,
        "grid": grid,
    }
    return Outgoing(Family(family), str(source_id).encode(), orjson.dumps(doc), int(ts_ms))


def case_message(row: Sequence[Any]) -> Outgoing:
    """A case row (CASE_COLUMNS order) as its wire message, keyed by case id."""
    (event_id, ts_ms, case_id, category, status, source_id, city, district, street, grid,
     lon, lat, text, photo_ref) = row  # fmt: skip
    doc = {
        "event_id": event_id,
        "schema_version": SCHEMA_VERSION,
        "ts": ts_ms,
        "family": Family.CASE.value,
        "source_id": source_id,
        "case_id": case_id,
        "category": category,
        "status": status,
        "city": city,
        "district": district,
        "street": street,
        "grid": grid,
        "lon": lon,
        "lat": lat,
        "text": text,
        "photo_ref": photo_ref,
    }
    return Outgoing(Family.CASE, str(case_id).encode(), orjson.dumps(doc), int(ts_ms))
