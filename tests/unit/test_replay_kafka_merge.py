"""The Kafka source's merge of partitions: one order (record time, topic, partition, offset)
however the fetches happen to interleave, offsets cut to [start, end), districts filtered."""

from __future__ import annotations

import random
from dataclasses import dataclass

import orjson
import pytest
from kafka import TopicPartition

from detectors.contract.events import Family
from replay import kafka_source
from replay.kafka_source import Span, _merged, district_of


@dataclass(frozen=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes


class FakeConsumer:
    """Just enough of KafkaConsumer: poll hands out a random subset of partitions in
    random-sized chunks, paused partitions get nothing."""

    def __init__(self, logs: dict[TopicPartition, list[Record]], seed: int) -> None:
        self.logs = logs
        self.rng = random.Random(seed)
        self.positions: dict[TopicPartition, int] = {}
        self.paused: set[TopicPartition] = set()

    def assign(self, tps: list[TopicPartition]) -> None:
        self.positions = {tp: 0 for tp in tps}

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.positions[tp] = offset

    def pause(self, tp: TopicPartition) -> None:
        self.paused.add(tp)

    def resume(self, tp: TopicPartition) -> None:
        self.paused.discard(tp)

    def position(self, tp: TopicPartition) -> int:
        return self.positions[tp]

    def poll(self, timeout_ms: int) -> dict[TopicPartition, list[Record]]:
        out = {}
        for tp in self.positions:
            if tp in self.paused or self.rng.random() < 0.5:
                continue
            at = self.positions[tp]
            chunk = self.logs[tp][at : at + self.rng.randint(1, 7)]
            if chunk:
                out[tp] = chunk
                self.positions[tp] = at + len(chunk)
        return out


WATER = [TopicPartition("live.water", p) for p in range(3)]


def _logs(seed: int) -> dict[TopicPartition, list[Record]]:
    rng = random.Random(seed)
    logs = {}
    for index, tp in enumerate(WATER):
        ts = 0
        records = []
        for offset in range(40):
            ts += rng.randint(0, 5)  # ties across partitions happen
            doc = {"district": rng.choice(["D1", "D2"]), "partition": index}
            records.append(Record(offset, ts, b"k", orjson.dumps(doc)))
        logs[tp] = records
    return logs


def _spans(start: int = 0, end: int = 40) -> list[Span]:
    return [Span(tp, Family.WATER, start, end) for tp in WATER]


def _order(fetch_seed: int, start: int = 0, end: int = 40) -> list[tuple[int, int, int]]:
    """(record time, partition, offset) of each merged record, in merge order."""
    consumer = FakeConsumer(_logs(7), fetch_seed)
    merged = _merged(consumer, _spans(start, end))  # type: ignore[arg-type]
    return [(r.timestamp, orjson.loads(r.value)["partition"], r.offset) for r, _ in merged]


def test_the_merge_order_does_not_depend_on_fetch_interleaving() -> None:
    orders = [_order(fetch_seed) for fetch_seed in range(6)]
    assert all(order == orders[0] for order in orders)
    assert orders[0] == sorted(orders[0])  # record time, then partition, then offset
    assert len(orders[0]) == 3 * 40


def test_only_offsets_in_the_span_are_replayed() -> None:
    order = _order(1, start=5, end=12)
    assert len(order) == 3 * 7 and {offset for *_, offset in order} == set(range(5, 12))


def test_a_partition_that_never_answers_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_source, "STALL_S", 0.05)
    consumer = FakeConsumer(_logs(7), 0)
    consumer.logs[WATER[1]] = []  # the broker promised offsets it never delivers
    with pytest.raises(kafka_source.KafkaReadError, match="live.water/1"):
        list(_merged(consumer, _spans()))  # type: ignore[arg-type]


def test_district_of_reads_the_message_or_says_none() -> None:
    assert district_of(b'{"district": "D3", "x": 1}') == "D3"
    assert district_of(b"[1, 2]") is None and district_of(b"\xff") is None
    assert district_of(b'{"district": 7}') is None
