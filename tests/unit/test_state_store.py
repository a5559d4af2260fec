"""How the worker names its detector-state entries: each under its input partition, so a
worker restores exactly the partitions it holds."""

from __future__ import annotations

from kafka.partitioner.default import murmur2

from streams.state_store import by_partition, table_key


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
