"""The ``replays`` table of the live database: what replays exist, and their state.

One row per change of a replay's status (ReplacingMergeTree by version): reads use FINAL.
Rows always go as the data argument (18.16 hangs on literal VALUES).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path
from typing import Any

from clickhouse_driver import Client

from detectors.contract.tables import REPLAYS
from replay.cli import RunArgs
from replay.namespace import namespace

RUNNING, FINISHED, FAILED, DELETED = "running", "finished", "failed", "deleted"


@dataclass(frozen=True, slots=True)
class ReplayRecord:
    """A row of ``replays`` (field order = the spec's column order, checked by a test)."""

    name: str
    status: str
    source: str
    from_ms: int
    to_ms: int
    districts: list[str]
    families: list[str]
    speed: str
    config_file: str
    detector_config: str
    events: int
    bytes: int
    database: str
    topic_prefix: str
    created_at: int  # epoch s
    finished_at: int | None  # epoch s
    worker_pid: int  # a worker left running (--keep-running), else 0
    message: str
    version: int

    def changed(self, clock: Callable[[], float] = time.time, **changes: Any) -> ReplayRecord:
        """This record with ``changes`` and a higher version."""
        version = max(self.version + 1, int(clock() * 1000))
        return replace(self, version=version, **changes)


def new_record(
    args: RunArgs,
    config_text: str,
    config_file: Path | None = None,
    clock: Callable[[], float] = time.time,
) -> ReplayRecord:
    """The first row of a replay about to start (``config_file``: the configuration it
    runs with, given or inherited)."""
    ns = namespace(args.name)
    sel = args.selection
    now = clock()
    return ReplayRecord(
        name=args.name, status=RUNNING, source=sel.source, from_ms=sel.from_ms, to_ms=sel.to_ms,
        districts=list(sel.districts), families=[f.value for f in sel.families],
        speed="max" if args.speed is None else f"{args.speed:g}",
        config_file=str(config_file or args.detector_config or ""), detector_config=config_text,
        events=0, bytes=0, database=ns.database, topic_prefix=ns.topic_prefix,
        created_at=int(now), finished_at=None, worker_pid=0, message="", version=int(now * 1000),
    )  # fmt: skip


class Catalog:
    """Reads and writes ``replays`` in the live database ``database``."""

    def __init__(self, client_factory: Callable[[], Client], database: str) -> None:
        self._client_factory = client_factory
        self.database = database

    def _execute(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        client = self._client_factory()
        try:
            return list(client.execute(sql, params))
        finally:
            client.disconnect()

    def exists(self) -> bool:
        """Whether the live database has a replays table yet (reading must not create it)."""
        return bool(self._execute(
            "SELECT count() FROM system.tables WHERE database = %(db)s AND name = 'replays'",
            {"db": self.database},
        )[0][0])  # fmt: skip

    def records(self, include_deleted: bool = False) -> list[ReplayRecord]:
        """Every replay, newest first."""
        if not self.exists():
            return []
        rows = self._execute(
            f"SELECT {REPLAYS.column_list} FROM {REPLAYS.qualified(self.database)} FINAL "
            "ORDER BY created_at DESC, name"
        )
        found = [_record(row) for row in rows]
        return [r for r in found if include_deleted or r.status != DELETED]

    def get(self, name: str) -> ReplayRecord | None:
        """The replay called ``name``, unless it was deleted."""
        return next((r for r in self.records() if r.name == name), None)

    def write(self, record: ReplayRecord) -> ReplayRecord:
        client = self._client_factory()
        try:
            client.execute(REPLAYS.insert_sql(self.database), [astuple(record)])
        finally:
            client.disconnect()
        return record

    def districts(self) -> set[str]:
        """District codes of the live city (areas FINAL)."""
        rows = self._execute(
            f"SELECT code FROM {self.database}.areas FINAL WHERE level = 'district'"
        )
        return {code for (code,) in rows}

    def databases(self) -> set[str]:
        return {name for (name,) in self._execute("SELECT name FROM system.databases")}

    def sizes(self) -> dict[str, tuple[int, int]]:
        """(rows, bytes on disk) of every replay database, from the active parts."""
        rows = self._execute(
            "SELECT database, sum(rows), sum(bytes_on_disk) FROM system.parts "
            "WHERE active AND substring(database, 1, 7) = 'replay_' GROUP BY database"
        )
        return {db: (int(n), int(size)) for db, n, size in rows}


def _record(row: tuple[Any, ...]) -> ReplayRecord:
    values = dict(zip((f.name for f in fields(ReplayRecord)), row, strict=True))
    for name in ("created_at", "finished_at"):
        moment = values[name]
        values[name] = None if moment is None else int(moment.timestamp())
    values["districts"], values["families"] = list(values["districts"]), list(values["families"])
    return ReplayRecord(**values)
