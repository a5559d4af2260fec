"""Record demo drills in ClickHouse (the ``drills`` table), where the dashboard reads them.

Like the reference data, drills are the simulator's to write: they say what it plays, not
what the worker saw. A drill that cannot be recorded is said on stderr and played anyway.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as ClickHouseError

from detectors.contract.tables import DRILLS
from infra.clickhouse import connect, ensure_schema
from infra.settings import CommonSettings
from sensors_sim.drills import Drill


def drill_row(drill: Drill, updated_at: int) -> tuple[object, ...]:
    """A row of ``drills``, in its spec's column order."""
    where, kind, area = drill.location, drill.kind, drill.area
    return (
        drill.drill_id, drill.number, kind.name, kind.title, kind.title_zh,
        area.code, area.name, area.name_zh,
        where.city, where.district, where.street, where.grid,
        drill.start_ms // 1000, drill.start_ms, drill.end_ms, sorted(drill.sources),
        list(kind.metrics), updated_at,
    )  # fmt: skip


class DrillRecorder:
    """Writes each drill as it is announced (one short insert per drill)."""

    def __init__(
        self,
        settings: CommonSettings,
        err: TextIO,
        clock: Callable[[], float] = time.time,
        client_factory: Callable[[CommonSettings], Client] = connect,
    ) -> None:
        self.settings, self.err, self.clock, self.client_factory = (
            settings,
            err,
            clock,
            client_factory,
        )
        self._schema = False

    def record(self, drill: Drill) -> None:
        where = drill.area.name + (f" / {drill.location.grid}" if drill.location.grid else "")
        self.err.write(
            f"citybrain-sim: drill {drill.drill_id}: {drill.kind.title} in {where}, "
            f"{len(drill.sources)} sources, from {drill.start_ms} to {drill.end_ms} ms\n"
        )
        try:
            self._write(drill)
        except (ClickHouseError, OSError) as exc:
            self.err.write(f"citybrain-sim: drill {drill.drill_id} not recorded: {exc}\n")
        self.err.flush()

    def _write(self, drill: Drill) -> None:
        if not self._schema:
            ensure_schema(self.settings)
            self._schema = True
        client = self.client_factory(self.settings)
        try:
            # Rows always go as the data argument: literal VALUES hang the 18.16 server.
            sql = DRILLS.insert_sql(self.settings.clickhouse_database)
            client.execute(sql, [drill_row(drill, int(self.clock()))])
        finally:
            client.disconnect()
