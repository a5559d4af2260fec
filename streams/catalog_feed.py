"""The data catalog as the worker judges promises by it: loaded from ClickHouse at start and
reloaded every ``refresh_s``, so an edit with ``citybrain-catalog`` takes effect within
that time. A failed load keeps the entries it had (and says so once); rows that cannot be
read are skipped and counted, never fatal."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from detectors.contract.catalog import CatalogEntry

log = logging.getLogger(__name__)

Entries = Mapping[tuple[str, str], CatalogEntry]
REFRESH_S = 30.0
LOAD_TIMEOUT_S = 10.0


class CatalogFeed:
    """The catalog entries in force, refreshed when due."""

    def __init__(
        self,
        load: Callable[[], tuple[Entries, int]],
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.load, self.refresh_s, self.clock = load, refresh_s, clock
        self.entries: Entries = {}
        self.loaded_at: float | None = None
        self._tried_at = float("-inf")
        self._failing = False

    def due(self) -> bool:
        return self.clock() - self._tried_at >= self.refresh_s

    async def refresh(self) -> None:
        """Load the catalog off the event loop; on failure keep what was loaded."""
        self._tried_at = self.clock()
        loop = asyncio.get_running_loop()
        try:
            entries, bad = await asyncio.wait_for(
                loop.run_in_executor(None, self.load), LOAD_TIMEOUT_S
            )
        except Exception as exc:  # ClickHouse down or a schema without the table: retry later
            if not self._failing:
                log.warning("catalog not loaded (promises judged by the last one): %s", exc)
            self._failing = True
            return
        if bad:
            log.warning("catalog: %d rows could not be read and are skipped", bad)
        if entries != self.entries or self._failing:
            newest = max((e.version for e in entries.values()), default=0)
            log.info("catalog in force: %d entries, newest version %d", len(entries), newest)
        self.entries, self.loaded_at, self._failing = entries, self.clock(), False

    async def refresh_if_due(self) -> Entries:
        if self.due():
            await self.refresh()
        return self.entries
