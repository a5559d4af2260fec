"""How the worker names its detector-state entries: each under its input partition, so a
worker restores exactly the partitions it holds."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import faust
from kafka.partitioner.default import murmur2

from streams.state_store import by_partition, put, table_key


def test_murmur2_is_the_java_clients_hash() -> None:
    # org.apache.kafka.common.utils.Utils.murmur2("21".getBytes()) == -973932308
    assert murmur2(b"21") - 2**32 == -973932308


def test_entries_come_back_by_partition_and_only_for_those_held() -> None:
    items = [
        (table_key(0, "ENV-0001|pm25"), {"seen": 1}),
        (table_key(2, "ENV-0009|pm25"), {"seen": 2}),
        (table_key(2, "__tick__"), {"next_tick_ms": 60_000}),
        (table_key(3, "WAT-0001|water_level"), {"seen": 3}),
        (table_key(0, "gone|pm25"), None),  # a deleted entry
        ("ENV-0001|pm25", {"seen": 0}),  # the layout before partitions named entries
        ("__tick__", {"next_tick_ms": 0}),
        ("ENV-0002|pm25", {"seen": 0}),  # older, and nothing newer of its series
    ]
    layout = by_partition(items, [0, 2])
    assert layout.entries == {
        0: {"ENV-0001|pm25": {"seen": 1}},
        2: {"ENV-0009|pm25": {"seen": 2}, "__tick__": {"next_tick_ms": 60_000}},
    }
    assert (layout.older, layout.afresh) == (3, 1)
    assert by_partition(items, []).entries == {}


def test_a_rocksdb_entry_is_encoded_once_and_the_changelog_gets_the_same_bytes(
    tmp_path: Path,
) -> None:
    """``put`` stores the table's own encoding in the partition's database and sends those
    very bytes to the changelog (raw), where Faust would encode the value a second time."""

    async def run() -> None:
        app = faust.App("state-store-test", broker="kafka://127.0.0.1:1", store="rocksdb://",
                        datadir=str(tmp_path), web_enabled=False)  # fmt: skip
        table = app.Table("detector_state", default=None, partitions=4)
        sent: list[Any] = []
        send = table.send_changelog
        table.send_changelog = lambda *a, **k: sent.append(send(*a, **k))
        value = {"seen": 1.5, "window": [1.0, 2.0], "label": "ENV-0001"}
        put(table, 2, table_key(2, "ENV-0001|pm25"), value)

        store = table.data
        stored = store._db_for_partition(2).get(store._encode_key(table_key(2, "ENV-0001|pm25")))
        [future] = sent
        assert future.message.partition == 2
        assert future.message.value == stored == store._encode_value(value)
        assert app.serializers.loads_value(None, future.message.value, serializer="json") == value

    asyncio.run(run())
