"""The data catalog in ClickHouse: read the entries and departments in force, write a new
version of one, and the defaults written with the reference data."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from clickhouse_driver import Client

from detectors.contract.catalog import (
    DEFAULT_DEPARTMENTS,
    CatalogEntry,
    Department,
    check_promise,
    family_entry,
    newest,
)
from detectors.contract.events import Family, Source
from detectors.contract.tables import (
    CATALOG,
    CATALOG_HISTORY,
    DEPARTMENT_HISTORY,
    DEPARTMENTS,
    SOURCES,
    catalog_entry,
    catalog_row,
    department_of,
    department_row,
)
from infra.topics import family_topic

SOURCE_OF = f"""
SELECT {SOURCES.select_list("family", "cadence_s")}
FROM sources FINAL
WHERE source_id = %(source_id)s
"""


class CatalogStore:
    """The catalog and departments tables of one database; ``client_factory`` connects to
    that database (its SELECTs name no database)."""

    def __init__(self, client_factory: Callable[[], Client], database: str) -> None:
        self.client_factory, self.database = client_factory, database

    def history(self) -> list[CatalogEntry]:
        """Every version of every entry, oldest first per entry."""
        return [catalog_entry(*row) for row in self._select(CATALOG_HISTORY)]

    def current(self) -> dict[tuple[str, str], CatalogEntry]:
        return newest(self.history())

    def in_force(self) -> tuple[dict[tuple[str, str], CatalogEntry], int]:
        """The entries in force, and how many rows could not be read (skipped: one bad
        row must not stop a worker that judges every other source by the catalog)."""
        entries, bad = [], 0
        for row in self._select(CATALOG_HISTORY):
            try:
                entry = catalog_entry(*row)
                check_promise(entry.promise)
            except (TypeError, ValueError):
                bad += 1
                continue
            entries.append(entry)
        return newest(entries), bad

    def departments(self) -> dict[str, Department]:
        """The departments in force, by code (the highest version of each)."""
        return {str(row[0]): department_of(*row) for row in self._select(DEPARTMENT_HISTORY)}

    def source(self, source_id: str) -> tuple[str, int] | None:
        """(family, cadence_s) of a registered source, or None."""
        found = self._select(SOURCE_OF, {"source_id": source_id})
        return (str(found[0][0]), int(found[0][1])) if found else None

    def write(self, entries: Sequence[CatalogEntry]) -> None:
        self._insert(CATALOG.insert_sql(self.database), [catalog_row(e) for e in entries])

    def write_departments(
        self, departments: Sequence[Department], author: str, changed_ms: int, version: int
    ) -> None:
        rows = [department_row(d, author, changed_ms, version) for d in departments]
        self._insert(DEPARTMENTS.insert_sql(self.database), rows)

    def _select(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        client = self.client_factory()
        try:
            return list(client.execute(sql, params or {}))
        finally:
            client.disconnect()

    def _insert(self, sql: str, rows: list[tuple[object, ...]]) -> None:
        client = self.client_factory()
        try:
            # Rows always go as the data argument: literal VALUES hang the 18.16 server.
            client.execute(sql, rows)
        finally:
            client.disconnect()


def default_entries(
    sources: Iterable[Source], topic_prefix: str, now_ms: int
) -> list[CatalogEntry]:
    """Every family's default entry; its cadence is the slowest of its sources' (60 s for
    a family the city has none of)."""
    cadences: dict[Family, int] = {}
    for source in sources:
        cadences[source.family] = max(cadences.get(source.family, 0), source.cadence_s)
    return [
        family_entry(family, cadences.get(family, 60), family_topic(topic_prefix, family), now_ms)
        for family in Family
    ]


def write_defaults(
    store: CatalogStore, sources: Iterable[Source], topic_prefix: str, now_ms: int
) -> int:
    """Write the default departments and family entries as version 0 (an edit always wins
    over them); returns how many entries."""
    store.write_departments(DEFAULT_DEPARTMENTS, "reference", now_ms, 0)
    entries = default_entries(sources, topic_prefix, now_ms)
    store.write(entries)
    return len(entries)
