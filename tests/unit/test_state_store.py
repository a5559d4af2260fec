"""Where the worker writes a detector-state key: one partition per key, the one Kafka's
default partitioner gives its source's readings."""

from __future__ import annotations

from kafka.partitioner.default import murmur2

from streams.state_store import partition_of


def test_murmur2_is_the_java_clients_hash() -> None:
    # org.apache.kafka.common.utils.Utils.murmur2("21".getBytes()) == -973932308
    assert murmur2(b"21") - 2**32 == -973932308


def test_a_series_goes_where_its_sources_readings_go_and_other_keys_to_zero() -> None:
    for n in (1, 4, 12):
        for source in ("ENV-0001", "TRF-0031", "WAT-0047", "FDR-0133"):
            expected = (murmur2(source.encode()) & 0x7FFFFFFF) % n
            assert {partition_of(f"{source}|{m}", n) for m in ("pm25", "no2")} == {expected}
    assert partition_of("__tick__", 4) == 0
    assert partition_of("group:D1-S1|pm25", 4) == partition_of("group:D1-S1|no2", 4)
    spread = {partition_of(f"S-{i:04d}|pm25", 4) for i in range(200)}
    assert spread == {0, 1, 2, 3}  # the keys spread over every partition
