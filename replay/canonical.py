"""What a replay stored, in a form two replays can be compared by: no wall-clock columns
(ingested_at and ingested_ms, the worker's name), no namespace names (topics), roll-ups summed over
partitions, every table in a fixed order."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client

QUERIES = {
    "events_raw": (
        "SELECT event_id, ts_ms, family, source_id, metric, value, city, district, street, "
        "grid FROM {db}.events_raw FINAL ORDER BY ts_ms, event_id"
    ),
    "cases_raw": (
        "SELECT event_id, ts_ms, case_id, category, status, source_id, city, district, "
        "street, grid, lon, lat, text, photo_ref FROM {db}.cases_raw FINAL "
        "ORDER BY ts_ms, event_id"
    ),
    "rollups_1m": (
        "SELECT level, key, metric, family, toUInt32(window_start) AS w, sum(cnt), "
        "round(sum(sum), 6), min(min), max(max) FROM {db}.rollups_1m FINAL "
        "GROUP BY level, key, metric, family, window_start ORDER BY level, key, metric, w"
    ),
    "dead_letters": (
        "SELECT family, src_partition, src_offset, toUInt32(kafka_ts), reason, detail, raw "
        "FROM {db}.dead_letters FINAL ORDER BY family, src_partition, src_offset"
    ),
    "alert_events": (
        "SELECT kind, alert_id, level, ts_ms, key FROM {db}.alert_events FINAL "
        "ORDER BY ts_ms, event_id"
    ),
}

Dump = dict[str, list[tuple[Any, ...]]]


def dump(client: Client, database: str) -> Dump:
    """Every compared table of ``database``, canonically."""
    return {table: list(client.execute(sql.format(db=database))) for table, sql in QUERIES.items()}


@dataclass(frozen=True, slots=True)
class TableDiff:
    """How one table of two dumps compares."""

    table: str
    rows_a: int
    rows_b: int
    first_difference: int | None  # row index, None when equal

    @property
    def equal(self) -> bool:
        return self.first_difference is None


def compare(a: Mapping[str, Sequence[tuple[Any, ...]]],
            b: Mapping[str, Sequence[tuple[Any, ...]]]) -> list[TableDiff]:  # fmt: skip
    """Table by table, where two dumps first differ.

    >>> [d.equal for d in compare({"t": [(1,), (2,)]}, {"t": [(1,), (3,)]})]
    [False]
    >>> compare({"t": [(1,)]}, {"t": [(1,), (2,)]})[0].first_difference
    1
    """
    diffs = []
    for table in sorted(set(a) | set(b)):
        rows_a, rows_b = list(a.get(table, [])), list(b.get(table, []))
        first = next(
            (i for i, (x, y) in enumerate(zip(rows_a, rows_b, strict=False)) if x != y), None
        )
        if first is None and len(rows_a) != len(rows_b):
            first = min(len(rows_a), len(rows_b))
        diffs.append(TableDiff(table, len(rows_a), len(rows_b), first))
    return diffs


def compare_text(diffs: Sequence[TableDiff], name_a: str, name_b: str) -> str:
    """One line per table."""
    lines = []
    for d in diffs:
        verdict = "equal" if d.equal else f"DIFFERENT from row {d.first_difference}"
        lines.append(f"{d.table:<13} {name_a} {d.rows_a:>8}  {name_b} {d.rows_b:>8}  {verdict}")
    return "\n".join(lines)
