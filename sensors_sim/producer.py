"""Send simulated events to Kafka with kafka-python, paced, counted, never silently lost.

Every message handed to the producer ends as delivered (acknowledged by the broker) or
failed (an errback, or still unacknowledged when the final flush gives up); the tally and
the Prometheus counters are fed from the producer's callbacks.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from kafka import KafkaAdminClient, KafkaProducer
from kafka.errors import KafkaError, TopicAlreadyExistsError
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from detectors.contract.events import Family
from infra.settings import CommonSettings
from infra.topics import all_family_topics, family_topic
from sensors_sim.generator import SimEvent
from sensors_sim.pacing import TokenBucket

LINGER_MS = 20
BATCH_BYTES = 256 * 1024
FLUSH_TIMEOUT_S = 60.0


class SimMetrics:
    """The simulator's Prometheus counters, registered in the given registry."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sent = PromCounter(
            "citybrain_sim_events_sent", "Events acknowledged by Kafka.", ["topic"],
            registry=registry,
        )  # fmt: skip
        self.malformed = PromCounter(
            "citybrain_sim_malformed_sent", "Deliberately malformed events acknowledged.",
            ["reason"], registry=registry,
        )  # fmt: skip
        self.errors = PromCounter(
            "citybrain_sim_send_errors", "Events Kafka did not acknowledge.", ["topic"],
            registry=registry,
        )  # fmt: skip


@dataclass
class Tally:
    """What happened to the handed-over events; updated from the producer's I/O thread."""

    handed: int = 0
    sent: int = 0
    valid: int = 0
    malformed: int = 0
    send_errors: int = 0
    by_family: Counter[str] = field(default_factory=Counter)
    by_reason: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def delivered(self, family: Family, reason: str | None) -> None:
        with self.lock:
            self.sent += 1
            self.by_family[family.value] += 1
            if reason is None:
                self.valid += 1
            else:
                self.malformed += 1
                self.by_reason[reason] += 1

    def failed(self, count: int = 1) -> None:
        with self.lock:
            self.send_errors += count

    def unsettled(self) -> int:
        """Events handed over that are neither delivered nor failed yet."""
        with self.lock:
            return self.handed - self.sent - self.send_errors


class Publisher:
    """Hands events to a KafkaProducer, one topic per family, and settles each one."""

    def __init__(
        self, producer: KafkaProducer, topic_prefix: str, metrics: SimMetrics, tally: Tally
    ) -> None:
        self.producer = producer
        self.topics = {family: family_topic(topic_prefix, family) for family in Family}
        self.metrics = metrics
        self.tally = tally
        # Labelled children looked up once: .labels() per event costs more than the send.
        self._sent = {topic: metrics.sent.labels(topic) for topic in self.topics.values()}
        self._errors = {topic: metrics.errors.labels(topic) for topic in self.topics.values()}

    def publish(self, event: SimEvent) -> None:
        """Send one event; its outcome arrives later through the callbacks."""
        topic = self.topics[event.family]
        self.tally.handed += 1  # only this thread writes `handed`
        try:
            future = self.producer.send(topic, value=event.value, key=event.key)
        except KafkaError:
            self._failed(topic, None)
            return
        future.add_callback(self._delivered, topic, event.family, event.expected_reason)
        future.add_errback(self._failed, topic)

    def _delivered(self, topic: str, family: Family, reason: str | None, _meta: Any) -> None:
        self.tally.delivered(family, reason)
        self._sent[topic].inc()
        if reason is not None:
            self.metrics.malformed.labels(reason).inc()

    def _failed(self, topic: str, _error: BaseException | None) -> None:
        self.tally.failed()
        self._errors[topic].inc()

    def close(self, timeout_s: float = FLUSH_TIMEOUT_S) -> None:
        """Flush and close; whatever is still unacknowledged then counts as failed."""
        with contextlib.suppress(KafkaError):  # what did not make it is counted below
            self.producer.flush(timeout=timeout_s)
        self.producer.close(timeout=timeout_s)
        lost = self.tally.unsettled()
        if lost > 0:
            self.tally.failed(lost)
            self.metrics.errors.labels("unsettled").inc(lost)


def make_producer(settings: CommonSettings) -> KafkaProducer:
    """A producer tuned for throughput: 20 ms linger, 256 KiB batches, acks from all."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id="citybrain-sim",
        acks="all",
        linger_ms=LINGER_MS,
        batch_size=BATCH_BYTES,
    )


def make_admin(settings: CommonSettings) -> KafkaAdminClient:
    """An admin client for the configured broker."""
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, client_id="citybrain-sim")


def ensure_topics(
    settings: CommonSettings,
    admin_factory: Callable[[CommonSettings], KafkaAdminClient] = make_admin,
) -> list[str]:
    """Create every family topic that is missing; returns the topics created."""
    admin = admin_factory(settings)
    try:
        existing = set(admin.list_topics())
        wanted = all_family_topics(settings.kafka_topic_prefix).values()
        missing = {
            topic: {"num_partitions": settings.kafka_partitions, "replication_factor": 1}
            for topic in wanted
            if topic not in existing
        }
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another process won the race
                admin.create_topics(missing, wait_for_metadata=True)
        return sorted(missing)
    finally:
        admin.close()


@dataclass(frozen=True, slots=True)
class Pace:
    """How fast to hand events over: ``bucket`` None means as fast as possible."""

    bucket: TokenBucket | None
    chunk: int

    @classmethod
    def at(cls, rate: float, max_speed: bool) -> Pace:
        """Chunks of about 10 ms worth of events, each paid for before it is sent."""
        chunk = max(1, min(5000, int(rate / 100)))
        if max_speed:
            return cls(None, 1000)
        # A quarter second of catch-up: with a bucket of one chunk, every sleep that ran
        # long (a few ms on a busy machine) lost its excess, so 68 events/s came out at 60
        # and event times ran ahead of the clock.
        return cls(TokenBucket(rate, burst=max(float(chunk), rate / 4)), chunk)


def chunks(events: Iterable[SimEvent], size: int) -> Iterator[list[SimEvent]]:
    """Consecutive lists of ``size`` events (the last may be shorter)."""
    iterator = iter(events)
    while batch := list(islice(iterator, size)):
        yield batch


def pump(
    events: Iterable[SimEvent],
    publisher: Publisher,
    pace: Pace,
    stop: threading.Event,
    on_progress: Callable[[], None] = lambda: None,
    progress_every_s: float = 5.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Publish ``events`` at ``pace`` until they run out or ``stop`` is set."""
    next_progress = clock() + progress_every_s
    for batch in chunks(events, pace.chunk):
        if stop.is_set():
            return
        if pace.bucket is not None:
            pace.bucket.take(len(batch))
        for event in batch:
            publisher.publish(event)
        if clock() >= next_progress:
            on_progress()
            next_progress += progress_every_s
