"""Event identity against the real worker, fed raw bytes with a plain Kafka producer.

(a) the same event sent twice, (b) one event re-sent with its id spelled three other ways,
(c) an id re-used for other content: the raw table, the roll-ups at every level and the
dead letters must show each original once, with its own value. The same holds when the
repeats arrive after their window has left the worker's memory, and after a SIGKILL and
a restart.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from detectors.contract.events import Family, Source
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import all_family_topics
from sensors_sim.city import build_city
from sensors_sim.reference import write_reference
from tests.integration.harness import WorkerProcess, rows, wait_for, worker_process

pytestmark = pytest.mark.integration

MINUTE_MS = 60_000
BASE_MS = (int(time.time() * 1000) // MINUTE_MS - 30) * MINUTE_MS  # a minute half an hour ago
LATER_MS = BASE_MS + 10 * MINUTE_MS  # far enough on to push BASE's window out of memory
VALUES = [11.0, 23.0, 37.0, 41.0, 59.0]
ORIGINALS = [str(uuid.uuid4()) for _ in VALUES]


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def _worker(settings: CommonSettings, name: str) -> WorkerProcess:
    return worker_process(settings, name, CITYBRAIN_WORKER_WINDOW_RETENTION_S="60")


def _sensor(settings: CommonSettings) -> Source:
    city = build_city(seed=8)
    write_reference(settings, city)
    return next(s for s in city.sources if s.family is Family.WATER)


def _doc(source: Source, event_id: str, ts_ms: int, value: float) -> bytes:
    loc = source.location
    return orjson.dumps({
        "event_id": event_id, "schema_version": 1, "ts": ts_ms, "family": "water",
        "source_id": source.source_id, "metric": sorted(source.metrics)[0], "value": value,
        "city": loc.city, "district": loc.district, "street": loc.street, "grid": loc.grid,
    })  # fmt: skip


def _send(settings: CommonSettings, source: Source, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    topic = all_family_topics(settings.kafka_topic_prefix)[Family.WATER]
    for value in values:
        producer.send(topic, key=source.source_id.encode(), value=value)
    producer.flush()
    producer.close()


def _original(source: Source, i: int, value: float | None = None, spelling: Any = str) -> bytes:
    return _doc(source, spelling(ORIGINALS[i]), BASE_MS + i * 1000, value or VALUES[i])


def _sentinel(settings: CommonSettings, source: Source, n: int) -> str:
    """A new event after the others: once it is stored, everything before it was handled
    (one key, one partition, in order)."""
    event_id = str(uuid.uuid4())
    _send(settings, source, [_doc(source, event_id, LATER_MS + n * 1000, 1.0)])
    return event_id


def _handled(settings: CommonSettings, sentinel: str, dead: int) -> bool:
    found = rows(settings, f"SELECT count() FROM events_raw WHERE event_id = '{sentinel}'")
    letters = rows(settings, "SELECT count() FROM dead_letters FINAL")
    return bool(found[0][0]) and letters[0][0] >= dead


def _assert_originals_once(settings: CommonSettings, conflicts: list[int]) -> None:
    base_s, end_s = BASE_MS // 1000, BASE_MS // 1000 + 60
    stored = rows(settings, "SELECT event_id, value FROM events_raw FINAL "
                            f"WHERE ts >= {base_s} AND ts < {end_s} ORDER BY ts")  # fmt: skip
    assert stored == list(zip(ORIGINALS, VALUES, strict=True))
    rollups = rows(settings, "SELECT level, sum(cnt), sum(sum) FROM rollups_1m FINAL "
                             f"WHERE window_start = {base_s} GROUP BY level")  # fmt: skip
    expected = (len(VALUES), sum(VALUES))
    assert dict((lvl, (n, s)) for lvl, n, s in rollups) == {
        lvl: expected for lvl in ("grid", "street", "district", "city")
    }
    dead = rows(settings, "SELECT reason, detail FROM dead_letters FINAL ORDER BY src_offset")
    assert [reason for reason, _ in dead] == ["conflicting_event_id"] * len(conflicts)
    for (_, detail), i in zip(dead, conflicts, strict=True):
        assert ORIGINALS[i] in detail and "original is kept" in detail


def test_repeats_change_nothing_and_a_reused_id_is_dead_lettered(
    namespace: CommonSettings,
) -> None:
    source = _sensor(namespace)
    worker = _worker(namespace, "identity")
    worker.start()
    try:
        _send(namespace, source, [
            *(_original(source, i) for i in range(len(VALUES))),
            _original(source, 0),  # (a) the same bytes twice
            _original(source, 1, spelling=str.upper),  # (b) three other spellings
            _original(source, 1, spelling=lambda s: "{" + s + "}"),
            _original(source, 1, spelling=lambda s: "urn:uuid:" + s.replace("-", "")),
            _original(source, 2, value=99.0),  # (c) the id re-used for another value
        ])  # fmt: skip
        first = _sentinel(namespace, source, 0)
        wait_for(lambda: _handled(namespace, first, 1), 180, "the first round", worker)
        _assert_originals_once(namespace, [2])

        # BASE's window has left memory (retention 60 s, the sentinel is 10 min later)
        _send(namespace, source, [_original(source, 3, spelling=lambda s: s.replace("-", "")),
                                  _original(source, 4, value=1.5)])  # fmt: skip
        late = _sentinel(namespace, source, 1)
        wait_for(lambda: _handled(namespace, late, 2), 120, "the late round", worker)
        _assert_originals_once(namespace, [2, 4])

        worker.kill()
        worker = worker_process(
            namespace, "identity-restarted", CITYBRAIN_WORKER_WINDOW_RETENTION_S="60"
        )
        worker.start()
        _send(namespace, source, [_original(source, 0, spelling=lambda s: "{" + s.upper() + "}"),
                                  _original(source, 0, value=2.0)])  # fmt: skip
        last = _sentinel(namespace, source, 2)
        # A killed member holds the group until its session times out, and the restarted
        # worker replays its table changelogs before it reads (restarts in seconds are
        # issue 10's): minutes on a busy machine.
        wait_for(lambda: _handled(namespace, last, 3), 420, "the round after a restart", worker)
        _assert_originals_once(namespace, [2, 4, 0])
        assert worker.alive()
    finally:
        worker.stop()
