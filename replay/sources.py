"""Where a replay's events come from: the raw archive in ClickHouse, or Kafka itself.

Both give the same two things: how much there is (counted before anything is written) and
the messages in replay order, re-encoded (ClickHouse) or as the original bytes (Kafka).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from clickhouse_driver import Client

from detectors.contract.events import SENSOR_FAMILIES, Family
from replay.cli import Selection
from replay.wire import CASE_COLUMNS, READING_COLUMNS, Outgoing, case_message, reading_message


@dataclass(frozen=True, slots=True)
class Extent:
    """How many messages a selection holds, and their first and last times."""

    messages: int
    first_ms: int
    last_ms: int


class Source(Protocol):
    """A replay's input."""

    def extent(self) -> Extent: ...

    def messages(self) -> Iterator[Outgoing]: ...


def wanted(selection: Selection) -> tuple[list[Family], bool]:
    """(sensor families to read, whether to read cases) under the family filter."""
    chosen = selection.families or tuple(Family)
    return [f for f in SENSOR_FAMILIES if f in chosen], Family.CASE in chosen


def where(selection: Selection, families: list[Family] | None) -> tuple[str, dict[str, Any]]:
    """The WHERE clause and parameters of a selection (``ts`` prunes day partitions,
    ``ts_ms`` cuts exactly). ``families`` None: the table has no family column to filter."""
    clauses = [
        "ts >= toDateTime(%(from_s)s) AND ts <= toDateTime(%(to_s)s)",
        "ts_ms >= %(from_ms)s AND ts_ms < %(to_ms)s",
    ]
    params: dict[str, Any] = {
        "from_s": selection.from_ms // 1000,
        "to_s": selection.to_ms // 1000,
        "from_ms": selection.from_ms,
        "to_ms": selection.to_ms,
    }
    if selection.districts:
        clauses.append("district IN %(districts)s")
        params["districts"] = tuple(selection.districts)
    if families is not None and selection.families:
        clauses.append("family IN %(families)s")
        params["families"] = tuple(f.value for f in families)
    return " AND ".join(clauses), params


class ClickHouseSource:
    """events_raw and cases_raw (FINAL) of the live database, merged in (ts_ms, event_id)
    order and streamed in blocks of ``chunk_rows``."""

    def __init__(
        self,
        client_factory: Callable[[], Client],
        database: str,
        selection: Selection,
        chunk_rows: int = 10_000,
    ) -> None:
        self._client_factory = client_factory
        self._database = database
        self._selection = selection
        self._chunk_rows = chunk_rows

    def _queries(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(table, WHERE, params) of each table the selection reads."""
        families, cases = wanted(self._selection)
        queries = []
        if families:
            clause, params = where(self._selection, families)
            queries.append(("events_raw", clause, params))
        if cases:
            clause, params = where(self._selection, None)
            queries.append(("cases_raw", clause, params))
        return queries

    def extent(self) -> Extent:
        total, first, last = 0, None, None
        client = self._client_factory()
        try:
            for table, clause, params in self._queries():
                n, low, high = client.execute(
                    f"SELECT count(), min(ts_ms), max(ts_ms) FROM {self._database}.{table} "
                    f"FINAL WHERE {clause}",
                    params,
                )[0]
                if n:
                    total += int(n)
                    first = int(low) if first is None else min(first, int(low))
                    last = int(high) if last is None else max(last, int(high))
        finally:
            client.disconnect()
        return Extent(total, first or 0, last or 0)

    def messages(self) -> Iterator[Outgoing]:
        streams = [self._stream(table, clause, params) for table, clause, params in self._queries()]
        for _key, message in heapq.merge(*streams, key=lambda item: item[0]):
            yield message

    def _stream(
        self, table: str, clause: str, params: dict[str, Any]
    ) -> Iterator[tuple[tuple[int, str], Outgoing]]:
        columns, encode = (
            (READING_COLUMNS, reading_message) if table == "events_raw"
            else (CASE_COLUMNS, case_message)
        )  # fmt: skip
        client = self._client_factory()
        try:
            rows = client.execute_iter(
                f"SELECT {columns} FROM {self._database}.{table} FINAL WHERE {clause} "
                "ORDER BY ts_ms, event_id",
                params,
                settings={"max_block_size": self._chunk_rows},
            )
            for row in rows:
                yield (row[1], row[0]), encode(row)
        finally:
            client.disconnect()
