"""The worker's catalog: bad rows are skipped and counted, a failed load keeps the entries
it had, and an edit is picked up at the next refresh."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from detectors.contract.catalog import Promise, family_entry
from detectors.contract.events import Family
from detectors.contract.tables import catalog_row
from infra.catalog import CatalogStore
from streams.catalog_feed import CatalogFeed

WATER = family_entry(Family.WATER, 60, "citybrain.water", 1000)


class RowsClient:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows

    def execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        return self.rows

    def disconnect(self) -> None:
        pass


def test_rows_that_cannot_be_read_are_skipped_and_counted() -> None:
    bad_subject = ("bogus", *catalog_row(WATER)[1:])
    bad_promise = catalog_row(replace(WATER, key="power", promise=Promise(0, 80.0, 600)))
    short = catalog_row(WATER)[:5]
    rows = [catalog_row(WATER), bad_subject, bad_promise, short]
    store = CatalogStore(lambda: RowsClient(rows), "cb")  # type: ignore[arg-type,return-value]
    entries, bad = store.in_force()
    assert entries == {("family", "water"): WATER} and bad == 3


def test_a_failed_load_keeps_what_was_loaded_and_an_edit_comes_at_the_next_refresh() -> None:
    now = [0.0]
    moved = replace(WATER, department="municipal")
    loads: list[Any] = [({("family", "water"): WATER}, 0), OSError("server down"),
                        ({("family", "water"): moved}, 0)]  # fmt: skip

    def load() -> Any:
        found = loads.pop(0)
        if isinstance(found, Exception):
            raise found
        return found

    feed = CatalogFeed(load, refresh_s=30, clock=lambda: now[0])

    async def refreshes() -> list[str]:
        owners = []
        for at in (0.0, 10.0, 31.0, 62.0):
            now[0] = at
            entries = await feed.refresh_if_due()
            owners.append(entries[("family", "water")].department)
        return owners

    # loaded at 0, not due at 10, failed at 31 (kept), the edit at 62
    assert asyncio.run(refreshes()) == ["water", "water", "water", "municipal"]
