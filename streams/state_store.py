"""Writing the worker's Faust tables outside of an event's own partition.

The worker writes detector state for many partitions at once (a checkpoint covers every
series a batch touched) and from timers, where Faust has no current event. Faust's RocksDB
store picks the partition's database from the current event, so such writes go to the
partition's database here, then to the changelog as Faust itself would. Faust records the
changelog offset in that database once the send is acknowledged; a restart then reads the
changelog only from there (seconds), where the memory store replays all of it (minutes).
"""

from __future__ import annotations

from typing import Any

from kafka.partitioner.default import murmur2


def put(table: Any, partition: int, key: str, value: Any) -> None:
    """Set ``key`` of ``table`` in ``partition`` and send the change to its changelog."""
    store = table.data
    open_db = getattr(store, "_db_for_partition", None)
    if open_db is None:  # the memory store: one dict for every partition
        store[key] = value
    else:  # RocksDB: the partition's own database (faust-streaming 0.15.3's layout)
        raw_key = store._encode_key(key)
        open_db(partition).put(raw_key, store._encode_value(value))
        store._key_index[raw_key] = partition
    table.send_changelog(partition, key, value)


def partition_of(key: str, partitions: int) -> int:
    """The partition of a detector-state key: a series' (``source|metric``) goes where
    Kafka's default partitioner puts its source's readings (murmur2 of the source id, the
    key every producer here gives them), other keys to partition 0. Always the same place
    for one key, so a restart never finds two copies of a series in two partitions' stores
    (a series touched only by minute ticks, e.g. a silent sensor, used to go to 0)."""
    source, series, _ = key.partition("|")
    if not series:
        return 0
    return int(murmur2(source.encode()) & 0x7FFFFFFF) % partitions
