"""Replay straight from the live Kafka topics: offsets found from record timestamps.

Read-only: a consumer with no group assigns the partitions itself and commits nothing.
The range is in Kafka record time (when the record was produced); partitions are merged
by (timestamp, topic, partition, offset), which does not depend on how fetches happen to
interleave, so the same range gives the same order every time.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from kafka import KafkaConsumer, TopicPartition

from detectors.contract.events import Family
from infra.topics import family_topic
from replay.cli import Selection
from replay.sources import Extent
from replay.wire import Outgoing

BUFFER_HIGH = 20_000  # records buffered per partition before it is paused
STALL_S = 60.0


class KafkaReadError(RuntimeError):
    """The live topics did not give the records their offsets promised."""


@dataclass(frozen=True, slots=True)
class Span:
    """One partition's records to replay: offsets [start, end)."""

    tp: TopicPartition
    family: Family
    start: int
    end: int


def district_of(value: bytes) -> str | None:
    """The district code a message names, or None when it names none (malformed).

    >>> district_of(b'{"district": "D2"}'), district_of(b'{oops')
    ('D2', None)
    """
    try:
        doc = orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
    district = doc.get("district") if isinstance(doc, dict) else None
    return district if isinstance(district, str) else None


class KafkaSource:
    """The live family topics of ``prefix`` between two record times."""

    def __init__(self, bootstrap: str, prefix: str, selection: Selection) -> None:
        self._bootstrap = bootstrap
        self._prefix = prefix
        self._selection = selection
        self._districts = frozenset(selection.districts)

    def _consumer(self) -> KafkaConsumer:
        return KafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            enable_auto_commit=False,
            client_id="citybrain-replay-reader",
            max_partition_fetch_bytes=4 * 1024 * 1024,
            allow_auto_create_topics=False,  # asking about a topic must not create it
        )

    def spans(self, consumer: KafkaConsumer) -> list[Span]:
        """Each partition's offsets between --from and --to (empty ones left out)."""
        family_of: dict[TopicPartition, Family] = {}
        for family in self._selection.families or tuple(Family):
            topic = family_topic(self._prefix, family)
            for partition in sorted(consumer.partitions_for_topic(topic) or ()):
                family_of[TopicPartition(topic, partition)] = family
        if not family_of:
            return []
        tps = list(family_of)
        ends = consumer.end_offsets(tps)
        starts = consumer.offsets_for_times({tp: self._selection.from_ms for tp in tps})
        stops = consumer.offsets_for_times({tp: self._selection.to_ms for tp in tps})
        spans = []
        for tp in tps:
            start = ends[tp] if starts[tp] is None else starts[tp].offset
            end = ends[tp] if stops[tp] is None else stops[tp].offset
            if end > start:
                spans.append(Span(tp, family_of[tp], start, end))
        return spans

    def _keep(self, value: bytes | None) -> bool:
        return not self._districts or district_of(value or b"") in self._districts

    def extent(self) -> Extent:
        consumer = self._consumer()
        try:
            spans = self.spans(consumer)
            if not self._districts:
                return Extent(sum(s.end - s.start for s in spans), self._selection.from_ms,
                              self._selection.to_ms)  # fmt: skip
        finally:
            consumer.close()
        count, first, last = 0, None, 0
        for message in self.messages():  # a counting pass: the district filter reads bytes
            count += 1
            first = message.ts_ms if first is None else min(first, message.ts_ms)
            last = max(last, message.ts_ms)
        return Extent(count, first or 0, last)

    def messages(self) -> Iterator[Outgoing]:
        consumer = self._consumer()
        try:
            spans = self.spans(consumer)
            for record, family in _merged(consumer, spans):
                if self._keep(record.value):
                    yield Outgoing(family, record.key, record.value or b"", record.timestamp)
        finally:
            consumer.close()


def _merged(consumer: KafkaConsumer, spans: list[Span]) -> Iterator[tuple[Any, Family]]:
    """Records of every span, merged by (timestamp, topic, partition, offset): the next
    record is chosen only when every unfinished partition has one buffered."""
    if not spans:
        return
    by_tp = {s.tp: s for s in spans}
    consumer.assign(list(by_tp))
    for span in spans:
        consumer.seek(span.tp, span.start)
    buffers: dict[TopicPartition, deque[Any]] = {tp: deque() for tp in by_tp}
    open_tps = set(by_tp)
    while True:
        if any(not buffers[tp] for tp in open_tps):
            _fetch(consumer, by_tp, buffers, open_tps)
        ready = [tp for tp, buffer in buffers.items() if buffer]
        if not ready:
            return
        tp = min(ready, key=lambda t: (buffers[t][0].timestamp, t.topic, t.partition))
        yield buffers[tp].popleft(), by_tp[tp].family
        if tp in open_tps and len(buffers[tp]) == BUFFER_HIGH // 2:
            consumer.resume(tp)


def _fetch(
    consumer: KafkaConsumer,
    by_tp: dict[TopicPartition, Span],
    buffers: dict[TopicPartition, deque[Any]],
    open_tps: set[TopicPartition],
) -> None:
    """Poll until every unfinished partition has a record buffered."""
    deadline = time.monotonic() + STALL_S
    while time.monotonic() < deadline:
        for tp, records in consumer.poll(timeout_ms=500).items():
            end = by_tp[tp].end
            buffers[tp].extend(r for r in records if r.offset < end)
            if len(buffers[tp]) >= BUFFER_HIGH:
                consumer.pause(tp)
        for tp in list(open_tps):
            if consumer.position(tp) >= by_tp[tp].end:
                open_tps.discard(tp)
                consumer.pause(tp)
        if all(buffers[tp] for tp in open_tps):
            return
    stuck = sorted(f"{t.topic}/{t.partition}" for t in open_tps if not buffers[t])
    raise KafkaReadError(f"no records from {', '.join(stuck)} for {STALL_S:.0f} s")
