"""Send a replay's messages to its own topic with kafka-python, paced by event time.

Every message ends as delivered or failed (producer callbacks); a replay with a failed
send is reported failed, never silently short.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError

from detectors.contract.events import Family
from replay.pacing import EventPacer
from replay.wire import Outgoing

TICK_EVERY = 500  # messages between progress callbacks
SLEEP_SLICE_S = 0.5


@dataclass
class Tally:
    """Messages handed to the producer and what became of them (callbacks run on the
    producer's I/O thread)."""

    handed: int = 0
    delivered: int = 0
    failed: int = 0
    bytes: int = 0
    last_ts_ms: int = 0
    first_error: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ok(self, size: int) -> None:
        with self.lock:
            self.delivered += 1
            self.bytes += size

    def error(self, exc: BaseException | None) -> None:
        with self.lock:
            self.failed += 1
            if not self.first_error:
                self.first_error = f"{type(exc).__name__}: {exc}"


def make_producer(bootstrap: str) -> KafkaProducer:
    """Throughput-tuned, idempotent (kafka-python 3 default) so that a retry never
    duplicates or reorders a record."""
    return KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id="citybrain-replay",
        acks="all",
        linger_ms=20,
        batch_size=256 * 1024,
    )


class ReplaySender:
    """Hands messages to a producer, each family to its topic (a replay sends them all to
    its one merged topic), each record stamped with the message's time."""

    def __init__(self, producer: KafkaProducer, topics: Mapping[Family, str]) -> None:
        self.producer = producer
        self.topics = dict(topics)
        self.tally = Tally()

    def send(self, message: Outgoing) -> None:
        self.tally.handed += 1  # only the sending thread writes `handed`
        self.tally.last_ts_ms = message.ts_ms
        size = len(message.value)
        try:
            future = self.producer.send(
                self.topics[message.family], value=message.value, key=message.key,
                timestamp_ms=message.ts_ms,
            )  # fmt: skip
        except KafkaError as exc:
            self.tally.error(exc)
            return
        future.add_callback(self._delivered, size)
        future.add_errback(self.tally.error)

    def _delivered(self, size: int, _meta: Any) -> None:
        self.tally.ok(size)

    def close(self, timeout_s: float = 60.0) -> None:
        """Flush and close; anything still unacknowledged counts as failed."""
        with contextlib.suppress(KafkaError):
            self.producer.flush(timeout=timeout_s)
        self.producer.close(timeout=timeout_s)
        with self.tally.lock:
            lost = self.tally.handed - self.tally.delivered - self.tally.failed
        for _ in range(max(0, lost)):
            self.tally.error(TimeoutError("not acknowledged before close"))


def pump(
    messages: Iterable[Outgoing],
    sender: ReplaySender,
    pacer: EventPacer,
    tick: Callable[[], None] = lambda: None,
    sleep: Callable[[float], None] = time.sleep,
) -> None:
    """Send every message when its event time is due; ``tick`` runs every few hundred
    messages and during waits (progress, stall checks)."""
    for n, message in enumerate(messages, 1):
        wait = pacer.delay(message.ts_ms)
        while wait > 0:
            sleep(min(wait, SLEEP_SLICE_S))
            tick()
            wait = pacer.delay(message.ts_ms)
        sender.send(message)
        if n % TICK_EVERY == 0:
            tick()
