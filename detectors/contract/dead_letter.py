"""A dead letter as it leaves the worker: the row of ``dead_letters`` (its spec is in
``tables``) and the message on ``<prefix>.deadletter``, built here for every writer (the
ingest and alerting agents).

Any message, of any size, must end in exactly one place; a dead letter must therefore
always fit where it goes. Kafka refuses a message over the producer's request limit
(1,000,000 bytes) while the broker accepts family messages up to about 1 MiB, so the
original bytes are kept only up to :data:`RAW_CAP_BYTES`, with the original length and
SHA-256 to tell what was cut. Events are far smaller (a reading is about 270 bytes), so
the cap cuts nothing but oversized messages. Pure: no I/O.

>>> kept = keep(b"x" * (RAW_CAP_BYTES + 10))
>>> len(kept.raw), kept.length, kept.truncated, kept.sha256[:12]
(65536, 65546, True, '328b2e588f5a')
>>> message_key("citybrain.water", 2, 41)
b'citybrain.water/2/41'
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson

MAX_EVENT_BYTES = 64 * 1024
"""An event message longer than this is not parsed: it is dead-lettered as ``oversized``."""

RAW_CAP_BYTES = MAX_EVENT_BYTES
"""A dead letter keeps at most this many of the original bytes (equal to the event limit:
only oversized messages are cut)."""

HEADER = "citybrain-dead-letter"
"""The Kafka header carrying a dead letter's JSON metadata (see :func:`headers`)."""


@dataclass(frozen=True, slots=True)
class Kept:
    """What a dead letter keeps of the original bytes: a prefix, the whole length and hash."""

    raw: bytes
    length: int
    sha256: str

    @property
    def truncated(self) -> bool:
        return self.length > len(self.raw)


def keep(original: bytes) -> Kept:
    """The original bytes cut to :data:`RAW_CAP_BYTES`, with their length and SHA-256."""
    return Kept(original[:RAW_CAP_BYTES], len(original), hashlib.sha256(original).hexdigest())


def message_key(topic: str, partition: int, offset: int) -> bytes:
    """The Kafka key of a dead letter: the source position, so a re-sent dead letter of the
    same message has the same key (readers keep one message per key)."""
    return f"{topic}/{partition}/{offset}".encode()


def headers(
    reason: str, detail: str, topic: str, partition: int, offset: int, kept: Kept
) -> list[tuple[str, bytes]]:
    """Kafka headers of a dead letter (its value is ``kept.raw``): the reason alone, for
    filters, and every field as JSON under :data:`HEADER`."""
    meta = {
        "reason": reason,
        "detail": detail,
        "src_topic": topic,
        "src_partition": partition,
        "src_offset": offset,
        "raw_length": kept.length,
        "raw_sha256": kept.sha256,
        "truncated": kept.truncated,
    }
    return [("reason", reason.encode()), (HEADER, orjson.dumps(meta))]


def row(
    topic: str, partition: int, offset: int, kafka_ts_s: int, family: str, reason: str,
    detail: str, original: bytes, worker: str,
) -> tuple[object, ...]:  # fmt: skip
    """A row of ``dead_letters`` in its spec's column order. When the bytes were cut, the
    detail ends with what :func:`cut_note` says (the table has no column for it: every
    writer of the table, benchmarks included, keeps its shape).

    >>> row("t", 0, 1, 2, "water", "oversized", "too long", b"ab" * 40_000, "w")[6][:56]
    'too long; kept the first 65536 of 80000 bytes, sha256 44'
    """
    kept = keep(original)
    if kept.truncated:
        detail = f"{detail}; {cut_note(kept)}"
    return (topic, partition, offset, kafka_ts_s, family, reason, detail, kept.raw, worker)


def cut_note(kept: Kept) -> str:
    """How a cut dead letter names the original: its length and SHA-256."""
    return f"kept the first {len(kept.raw)} of {kept.length} bytes, sha256 {kept.sha256}"
