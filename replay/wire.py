"""Stored rows back into the exact wire bytes of :mod:`detectors.contract.wire`: pure.

>>> row = ("5b0c1d2e-0000-5000-8000-000000000001", 1764115200000, "water", "WAT-0007",
...        "water_level", 3.42, "CB", "D1", "D1-S2", "D1-S2-G03")
>>> out = reading_message(row)
>>> out.family, out.key, out.ts_ms
(<Family.WATER: 'water'>, b'D1', 1764115200000)
>>> out.value[:60]
b'{"event_id":"5b0c1d2e-0000-5000-8000-000000000001","schema_v'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from detectors.contract import wire
from detectors.contract.events import CaseReport, Family, Location, Reading
from detectors.contract.tables import CASES_RAW, EVENTS_RAW

READING_COLUMNS = EVENTS_RAW.select_without("ts", "ingested_at", "ingested_ms")
CASE_COLUMNS = CASES_RAW.select_without("ts", "ingested_at", "ingested_ms")


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message for a replay topic; ``ts_ms`` paces it and stamps the Kafka record."""

    family: Family
    key: bytes | None
    value: bytes
    ts_ms: int


def reading_message(row: Sequence[Any]) -> Outgoing:
    """A sensor reading row (READING_COLUMNS order) as its wire message, keyed by district."""
    event_id, ts_ms, family, source_id, metric, value, city, district, street, grid = row
    where = Location(city, district, street, grid)
    reading = Reading(event_id, ts_ms, Family(family), source_id, metric, value, where)
    return Outgoing(reading.family, wire.key_of(reading), wire.encode_reading(reading), int(ts_ms))


def case_message(row: Sequence[Any]) -> Outgoing:
    """A case row (CASE_COLUMNS order) as its wire message, keyed by district."""
    (event_id, ts_ms, case_id, category, status, source_id, city, district, street, grid,
     lon, lat, text, photo_ref) = row  # fmt: skip
    where = Location(city, district, street, grid)
    case = CaseReport(event_id, ts_ms, case_id, category, status, source_id, where,
                      lon, lat, text, photo_ref)  # fmt: skip
    return Outgoing(Family.CASE, wire.key_of(case), wire.encode_case(case), int(ts_ms))
