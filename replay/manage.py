"""``citybrain-replay list`` and ``delete``: the replays of the live namespace, with their
size, and their removal with everything they wrote."""

from __future__ import annotations

import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from infra.clickhouse import connect
from infra.settings import ReplaySettings
from replay.catalog import DELETED, Catalog, ReplayRecord
from replay.namespace import namespace
from replay.runner import Refused
from replay.store import drop_namespace
from replay.worker import stop_kept_worker


@dataclass(frozen=True, slots=True)
class Listed:
    """A replay and what its database holds now."""

    record: ReplayRecord
    rows: int
    bytes_on_disk: int

    def as_dict(self) -> dict[str, Any]:
        r = self.record
        return {
            "name": r.name, "status": r.status, "source": r.source, "from_ms": r.from_ms,
            "to_ms": r.to_ms, "districts": r.districts, "families": r.families,
            "speed": r.speed, "config_file": r.config_file, "events": r.events,
            "bytes_produced": r.bytes, "rows": self.rows, "bytes_on_disk": self.bytes_on_disk,
            "database": r.database, "topic_prefix": r.topic_prefix, "created_at": r.created_at,
            "finished_at": r.finished_at, "message": r.message,
        }  # fmt: skip


def catalog_of(settings: ReplaySettings) -> Catalog:
    return Catalog(lambda: connect(settings, database=""), settings.clickhouse_database)


def listing(settings: ReplaySettings, include_deleted: bool = False) -> list[Listed]:
    """Every replay of the live namespace with the rows and bytes its database holds."""
    catalog = catalog_of(settings)
    sizes = catalog.sizes()
    return [
        Listed(r, *sizes.get(r.database, (0, 0)))
        for r in catalog.records(include_deleted=include_deleted)
    ]


def _when(ms: int) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ms / 1000))


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


def listing_text(entries: Sequence[Listed]) -> str:
    """A table of replays for the terminal.

    >>> listing_text([])
    'no replays'
    """
    if not entries:
        return "no replays"
    head = ("name", "status", "source", "range (UTC)", "filters", "speed", "config", "events",
            "rows", "size")  # fmt: skip
    table = [head]
    for e in entries:
        r = e.record
        filters = ";".join(x for x in (",".join(r.districts), ",".join(r.families)) if x)
        table.append((
            r.name, r.status, r.source, f"{_when(r.from_ms)} .. {_when(r.to_ms)}",
            filters or "-", r.speed, Path(r.config_file).name if r.config_file else "default",
            str(r.events), str(e.rows), _size(e.bytes_on_disk),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
                     for row in table)  # fmt: skip


def delete(settings: ReplaySettings, name: str) -> str:
    """Stop a kept worker, drop the replay's database, topics, consumer group and local
    files, and mark its row deleted; returns what was done."""
    catalog = catalog_of(settings)
    record = catalog.get(name)
    if record is None:
        raise Refused(f"no replay named {name!r} in {settings.clickhouse_database}")
    ns = namespace(name)
    stopped = record.worker_pid and stop_kept_worker(record.worker_pid, ns)
    topics = drop_namespace(settings, ns)
    shutil.rmtree(Path(settings.replay_dir) / name, ignore_errors=True)
    note = f"dropped database {ns.database} and {len(topics)} topics"
    if stopped:
        note += f"; stopped its worker (pid {record.worker_pid})"
    catalog.write(record.changed(status=DELETED, message=note, worker_pid=0))
    return f"deleted replay {name}: {note}"


__all__ = ["DELETED", "Listed", "delete", "listing", "listing_text"]
