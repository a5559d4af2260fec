"""Messages of any size through the real broker and worker: each ends in exactly one place
(here a dead letter: one row and one message on the dead-letter topic, cut to the
contract's cap with the original length and hash) and the worker keeps going."""

from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.errors import MessageSizeTooLargeError

from detectors.contract import dead_letter
from detectors.contract.events import Family, Location, Reading
from detectors.contract.wire import encode_reading
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import dead_letter_topic, family_topic
from tests.integration.harness import ROOT, WorkerProcess, process_env, rows, wait_for

pytestmark = pytest.mark.integration

BROKER_MAX_VALUE = 1_048_588 - 72
"""The largest value without a key that the broker takes: its default message.max.bytes
(scripts/services sets none) less a one-record batch's 72 bytes of framing."""


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def one_mb_reading() -> bytes:
    """A well-formed reading whose source_id alone is 1 MB."""
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    reading = Reading(str(uuid.uuid4()), int(time.time() * 1000), Family.WATER,
                      "S" * 1_000_000, "water_level", 1.0, where)  # fmt: skip
    return encode_reading(reading)


def produce(settings: CommonSettings, topic: str, values: list[bytes | None]) -> list[int]:
    """Send each value alone to partition 0; their offsets. The broker refuses one byte over
    BROKER_MAX_VALUE, so the largest value here is the broker's maximum."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks=1,
                             max_request_size=4_000_000, enable_idempotence=False,
                             retries=0)  # fmt: skip
    try:
        with pytest.raises(MessageSizeTooLargeError):
            producer.send(topic, value=b"x" * (BROKER_MAX_VALUE + 1), partition=0).get(10)
        return [
            producer.send(topic, key=None if v is not None else b"null value", value=v,
                          partition=0).get(10).offset
            for v in values
        ]  # fmt: skip
    finally:
        producer.close()


def dead_letter_messages(settings: CommonSettings, count: int) -> list[Any]:
    """Every message on the dead-letter topic, read until ``count`` came and 3 s more."""
    consumer = KafkaConsumer(dead_letter_topic(settings.kafka_topic_prefix),
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=3000)  # fmt: skip
    found: list[Any] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            batch = list(consumer)  # stops after 3 s without a message
            found += batch
            if len(found) >= count and not batch:
                break
    finally:
        consumer.close()
    return found


def test_any_size_ends_as_one_dead_letter_and_the_worker_goes_on(
    namespace: CommonSettings,
) -> None:
    topic = family_topic(namespace.kafka_topic_prefix, Family.WATER)
    originals: list[bytes | None] = [
        b"",
        None,
        one_mb_reading(),
        b"{" * BROKER_MAX_VALUE,
        b"{not json after them",
    ]
    log = ROOT / ".local" / "test-logs" / f"{namespace.kafka_topic_prefix}-sizes.log"
    worker = WorkerProcess(process_env(namespace), Path(log))
    worker.start()
    try:
        offsets = produce(namespace, topic, originals)
        query = (
            "SELECT src_offset, reason, lower(hex(SHA256(raw))), detail FROM dead_letters FINAL "
            "ORDER BY src_offset"
        )
        wait_for(lambda: len(rows(namespace, query)) >= len(offsets), 120,
                 "a dead-letter row for every message", worker)  # fmt: skip
        assert worker.alive()
        stored = rows(namespace, query)
        messages = dead_letter_messages(namespace, len(offsets))
    finally:
        started = time.monotonic()
        code = worker.stop()
        print(f"worker stopped in {time.monotonic() - started:.1f} s, exit code {code}")
    assert [r[0] for r in stored] == offsets
    assert rows(namespace, "SELECT count() FROM events_raw") == [(0,)]
    by_key = {m.key: m for m in messages}
    assert len(messages) == len(by_key) == len(offsets)  # exactly one each
    for offset, original, (_, reason, kept_sha, detail) in zip(
        offsets, originals, stored, strict=True
    ):
        whole = original or b""
        expected = dead_letter.keep(whole)
        sha = hashlib.sha256(whole).hexdigest()
        assert kept_sha == hashlib.sha256(expected.raw).hexdigest()  # the kept prefix
        assert detail.endswith(dead_letter.cut_note(expected)) is expected.truncated
        assert reason == ("oversized" if len(whole) > dead_letter.MAX_EVENT_BYTES
                          else "malformed_json")  # fmt: skip
        sent = by_key[dead_letter.message_key(topic, 0, offset)]
        meta = orjson.loads(dict(sent.headers)[dead_letter.HEADER])
        assert sent.value == expected.raw
        assert (meta["reason"], meta["raw_length"], meta["raw_sha256"]) == (reason, len(whole), sha)
        assert meta["truncated"] is expected.truncated
    assert code == 0, worker.log_tail()
