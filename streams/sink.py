"""The ClickHouse edge of the worker: one narrow blocking method per table, batch in.

Blocking calls run on a single worker thread (a clickhouse-driver Client is not
thread-safe), never on the event loop. Rows always go as the data argument: the Debian
18.16 server hangs on literal VALUES inside the SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import orjson
from clickhouse_driver import Client

from detectors.contract.events import CaseReport, Family, Location, Reading, Source
from detectors.contract.table_spec import TableSpec
from detectors.contract.tables import CASES_RAW, DEAD_LETTERS, EVENTS_RAW, ROLLUPS_1M, SOURCES
from detectors.contract.validation import Registry
from detectors.rollup.aggregation import SummaryState
from streams.rollup import StoredRow


class ClickHouseSink:
    """Writes the worker's rows and reads back what it needs (registry, roll-up state)."""

    def __init__(self, client_factory: Callable[[], Client]) -> None:
        self._client_factory = client_factory
        self._client: Client | None = None

    @property
    def client(self) -> Client:
        if self._client is None:
            self._client = self._client_factory()
        return self._client

    def reset(self) -> None:
        """Drop the connection after an error; the next call reconnects."""
        if self._client is not None:
            self._client.disconnect()
        self._client = None

    def ping(self) -> None:
        """A query that costs the server nothing: raises while it cannot be reached."""
        self.client.execute("SELECT 1")

    def insert(self, table: TableSpec, rows: Sequence[tuple[object, ...]]) -> int:
        """Insert ``rows`` (whole rows of ``table``) in one INSERT; returns the row count."""
        if not rows:
            return 0
        self.client.execute(table.insert_sql(), rows, types_check=False)
        return len(rows)

    def write_raw(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self.insert(EVENTS_RAW, rows)

    def write_cases(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self.insert(CASES_RAW, rows)

    def write_dead_letters(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self.insert(DEAD_LETTERS, rows)

    def write_rollups(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self.insert(ROLLUPS_1M, rows)

    def load_rollups(
        self, topic: str, partition: int, windows_ms: Iterable[int]
    ) -> list[StoredRow]:
        """The stored state of a partition's windows (highest version of each row)."""
        starts = sorted({w // 1000 for w in windows_ms})
        if not starts:
            return []
        result = self.client.execute(
            "SELECT toUInt32(window_start), level, key, metric, family, cnt, sum, min, max, "
            "version FROM rollups_1m FINAL WHERE src_topic = %(topic)s "
            "AND src_partition = %(partition)s AND toUInt32(window_start) IN %(starts)s",
            {"topic": topic, "partition": partition, "starts": tuple(starts)},
        )
        return [
            StoredRow(int(w) * 1000, (level, key, metric), family,
                      SummaryState(int(cnt), float(total), float(low), float(high)), int(version))
            for w, level, key, metric, family, cnt, total, low, high, version in result
        ]  # fmt: skip

    def load_case_states(self, case_ids: Iterable[str]) -> list[tuple[Any, ...]]:
        """Where some cases stand (:func:`streams.case_steps.case_states` reads the rows).
        No FINAL: a re-delivered event only repeats a step."""
        wanted = tuple(sorted(set(case_ids)))
        if not wanted:
            return []
        result: list[tuple[Any, ...]] = self.client.execute(
            "SELECT case_id, any(category), argMax(status, ts_ms), max(ts_ms), "
            "argMin(source_id, ts_ms), any(city), any(district), any(street), any(grid), "
            "any(lon), any(lat) FROM cases_raw WHERE case_id IN %(case_ids)s GROUP BY case_id",
            {"case_ids": wanted},
        )
        return result

    def load_identities(self, windows_ms: Iterable[int]) -> list[Reading | CaseReport]:
        """The events stored in these roll-up windows by any partition, for the identity
        ledger. Without FINAL: a re-delivered row is the same event twice, harmless."""
        minutes = sorted({w // 60_000 for w in windows_ms})
        if not minutes:
            return []
        where = (
            "WHERE ts >= toDateTime(%(lo)s) AND ts < toDateTime(%(hi)s) "
            "AND intDiv(toUInt32(ts), 60) IN %(minutes)s"
        )
        params = {"lo": minutes[0] * 60, "hi": minutes[-1] * 60 + 60, "minutes": tuple(minutes)}
        readings = self.client.execute(
            "SELECT event_id, ts_ms, family, source_id, metric, value, city, district, street, "
            f"grid FROM events_raw {where}",
            params,
        )
        cases = self.client.execute(
            "SELECT event_id, ts_ms, case_id, category, status, source_id, city, district, "
            f"street, grid, lon, lat, text, photo_ref FROM cases_raw {where}",
            params,
        )
        return [*_stored_readings(readings), *_stored_cases(cases)]

    def load_profiles(self) -> dict[str, tuple[str, dict[str, float]]]:
        """Neighbour groups and limits of the sources that have them."""
        return parse_profiles(
            self.client.execute("SELECT source_id, group_name, limits FROM source_profiles FINAL")
        )

    def load_registry(self) -> Registry:
        """Known sources and grid cells from the reference tables."""
        sources = {}
        for row in self.client.execute(
            f"SELECT {SOURCES.select_without('updated_at')} FROM sources FINAL"
        ):
            source_id, family, kind, metrics, city, district, street, grid, lon, lat, cadence = row
            if family not in Family._value2member_map_:
                continue
            sources[source_id] = Source(
                source_id, Family(family), kind, frozenset(metrics),
                Location(city, district, street, grid), float(lon), float(lat), int(cadence),
            )  # fmt: skip
        areas = self.client.execute(
            "SELECT level, code, city, district, street, name, name_zh FROM areas FINAL"
        )
        grids = {
            code: Location(city, district, street, code)
            for level, code, city, district, street, _, _ in areas
            if level == "grid"
        }
        names = {str(row[1]): (str(row[5]), str(row[6])) for row in areas}
        return Registry(sources=sources, grids=grids, names=names)


def _stored_readings(rows: Iterable[tuple[Any, ...]]) -> list[Reading]:
    return [
        Reading(event_id, int(ts_ms), Family(family), source_id, metric, float(value),
                Location(city, district, street, grid))
        for event_id, ts_ms, family, source_id, metric, value, city, district, street, grid
        in rows if family in Family._value2member_map_
    ]  # fmt: skip


def _stored_cases(rows: Iterable[tuple[Any, ...]]) -> list[CaseReport]:
    return [
        CaseReport(event_id, int(ts_ms), case_id, category, status, source_id,
                   Location(city, district, street, grid), float(lon), float(lat), text, photo)
        for (event_id, ts_ms, case_id, category, status, source_id, city, district, street,
             grid, lon, lat, text, photo) in rows
    ]  # fmt: skip


def parse_profiles(rows: Iterable[tuple[str, str, str]]) -> dict[str, tuple[str, dict[str, float]]]:
    """source id -> (neighbour group, limits) from source_profiles rows; bad JSON is skipped."""
    profiles = {}
    for source_id, group, limits in rows:
        try:
            parsed = orjson.loads(limits) if limits else {}
        except orjson.JSONDecodeError:
            continue
        if isinstance(parsed, dict):
            profiles[source_id] = (group, {str(k): float(v) for k, v in parsed.items()})
    return profiles
