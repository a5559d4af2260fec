"""Writing the worker's Faust tables outside of an event's own partition.

The worker writes detector state for many partitions at once (a checkpoint covers every
series a batch touched) and from timers, where Faust has no current event. Faust's RocksDB
store picks the partition's database from the current event, so such writes go to the
partition's database here, then to the changelog as Faust itself would. Faust records the
changelog offset in that database once the send is acknowledged; a restart then reads the
changelog only from there (seconds), where the memory store replays all of it (minutes).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple


def put(table: Any, partition: int, key: str, value: Any) -> None:
    """Set ``key`` of ``table`` in ``partition`` and send the change to its changelog."""
    store = table.data
    open_db = getattr(store, "_db_for_partition", None)
    if open_db is None:  # the memory store: one dict for every partition
        store[key] = value
        table.send_changelog(partition, key, value)
    else:  # RocksDB: the partition's own database (faust-streaming 0.15.3's layout)
        raw_key = store._encode_key(key)
        encoded = store._encode_value(value)  # the table's serializer, once for both
        open_db(partition).put(raw_key, encoded)
        store._key_index[raw_key] = partition
        table.send_changelog(partition, key, encoded, value_serializer="raw")


def table_key(partition: int, key: str) -> str:
    """A detector-state entry's name in the table: its input partition, then its own key
    (the tick and the change filter have one entry per partition)."""
    return f"{partition}/{key}"


def by_partition(items: Iterable[tuple[str, Any]], held: Iterable[int]) -> Layout:
    """The table's entries of the ``held`` partitions, by partition, under their own keys,
    how many entries of an older layout (named without their partition) were passed over,
    and how many of those have no entry of today's layout in any partition (their series
    learn afresh). Empty values are deleted entries."""
    wanted = set(held)
    out: dict[int, dict[str, Any]] = {p: {} for p in sorted(wanted)}
    older: list[str] = []
    placed: set[str] = set()
    for name, value in items:
        head, sep, key = name.partition("/")
        if not (sep and head.isdigit()):
            older.append(name)
        elif value:
            placed.add(key)
            if int(head) in wanted:
                out[int(head)][key] = value
    return Layout(out, len(older), sum(1 for name in older if name not in placed))


class Layout(NamedTuple):
    entries: dict[int, dict[str, Any]]
    older: int
    afresh: int  # of the older: with no entry of today's layout
