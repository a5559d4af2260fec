"""Detector state lives in the worker's Faust table and survives a SIGKILL: after the
restart every series' detectors hold exactly the state of detectors that saw the whole
stream once, so they score the future exactly as if nothing had happened."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from detectors.scoring.monitor import Monitor
from infra.clickhouse import connect
from infra.kafka import group_lag
from infra.settings import CommonSettings
from infra.topics import all_family_topics, worker_app_id
from streams.detection import sites_of
from streams.sink import ClickHouseSink
from tests.integration.harness import (
    ROOT,
    WorkerProcess,
    process_env,
    rows,
    run_sim,
    stored_counts,
    wait_for,
)

pytestmark = pytest.mark.integration


def table_entries(settings: CommonSettings) -> dict[str, Any]:
    """The latest value of every entry of the worker's detector_state changelog, by its own
    key (the table names each under its input partition: ``"<partition>/<key>"``)."""
    topic = f"{settings.kafka_topic_prefix}-worker-detector_state-changelog"
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                             enable_auto_commit=False, consumer_timeout_ms=3000)  # fmt: skip
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found = {json.loads(m.key): json.loads(m.value) for m in consumer if m.value}
        return {name.partition("/")[2]: value for name, value in found.items()}
    finally:
        consumer.close()


def partitions_by_key(
    settings: CommonSettings, topics: list[str], key: Callable[[Any], str | None]
) -> dict[str, set[int]]:
    """Every ``key(message)`` of ``topics`` with the partitions its messages are on."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                             enable_auto_commit=False, consumer_timeout_ms=3000)  # fmt: skip
    try:
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        found: dict[str, set[int]] = {}
        for m in consumer:
            name = key(m)
            if name is not None:
                found.setdefault(name, set()).add(m.partition)
        return found
    finally:
        consumer.close()


def _source_of(message: Any) -> str | None:
    try:
        doc = json.loads(message.value)
    except ValueError:
        return None  # a malformed reading
    return doc.get("source_id") if isinstance(doc, dict) else None


def _all_seen(settings: CommonSettings, last: dict[tuple[str, str], int]) -> bool:
    """Whether the table holds each series' last reading (the table read once: each read
    waits out its consumer's timeout)."""
    entries = table_entries(settings)
    return all(entries.get(f"{s}|{m}", {}).get("seen") == ts for (s, m), ts in last.items())


def offline_entry(
    monitor: Monitor, series: list[tuple[int, float]], source: str, metric: str
) -> dict[str, Any]:
    monitor.process([(ts, source, metric, value) for ts, value in series])
    return dict(monitor.snapshot({(source, metric)})[f"{source}|{metric}"])


def _normal(entry: dict[str, Any]) -> Any:
    return orjson.loads(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))


def test_restored_detectors_equal_uninterrupted_ones(namespace: CommonSettings) -> None:
    log = ROOT / ".local" / "test-logs" / f"{namespace.kafka_topic_prefix}"
    first = WorkerProcess(process_env(namespace, CITYBRAIN_WORKER_COMMIT_INTERVAL_S="5"),
                          Path(f"{log}-first.log"))  # fmt: skip
    first.start()
    total = 6000
    sim = run_sim(process_env(namespace), "--seed", "21", "--rate", "1500", "--count",
                  str(total), background=True)  # fmt: skip
    second = WorkerProcess(process_env(namespace), Path(f"{log}-second.log"))
    try:
        wait_for(lambda: stored_counts(namespace)["raw"] > 2000, 120, "events before the kill",
                 first)  # fmt: skip
        first.kill()
        before, restarted = sum(stored_counts(namespace).values()), time.perf_counter()
        second.start()
        wait_for(lambda: sum(stored_counts(namespace).values()) > before, 120,
                 "the restarted worker to store again", second)  # fmt: skip
        print(
            f"restarted after kill -9: storing again {time.perf_counter() - restarted:.1f} s "
            "after the start (bench/bench_restart.py measures it with 10,000 streams)"
        )
        assert sim.wait(timeout=300) == 0
        wait_for(lambda: sum(stored_counts(namespace).values()) >= total, 180,
                 "every event stored after the restart", second)  # fmt: skip
        last = dict(((s, m), ts) for s, m, ts in rows(
            namespace, "SELECT source_id, metric, max(ts_ms) FROM events_raw FINAL "
            "GROUP BY source_id, metric"))  # fmt: skip
        chosen = sorted(last)[:: max(1, len(last) // 25)]
        # The worker acks a reading only after the table snapshot that learnt it: once its
        # group has committed every input, the table must hold the last readings.
        prefix = namespace.kafka_topic_prefix
        inputs = list(all_family_topics(prefix).values())
        wait_for(lambda: group_lag(namespace, worker_app_id(prefix), inputs) == 0, 180,
                 "the worker to commit every reading", second)  # fmt: skip
        wait_for(lambda: _all_seen(namespace, {k: last[k] for k in chosen}), 30,
                 "the table to hold the last readings", second)  # fmt: skip
        entries = table_entries(namespace)
        client = connect(namespace)
        registry = ClickHouseSink(lambda: client).load_registry()
        for source, metric in chosen:
            series = [(int(t), float(v)) for t, v in client.execute(
                "SELECT ts_ms, value FROM events_raw FINAL WHERE source_id = %(s)s "
                "AND metric = %(m)s ORDER BY ts_ms", {"s": source, "m": metric})]  # fmt: skip
            expected = offline_entry(Monitor(sites_of(registry)), series, source, metric)
            stored = entries[f"{source}|{metric}"]
            assert _normal(stored["state"]) == _normal(expected["state"]), (source, metric)
            assert stored["seen"] == expected["seen"]
        # Each series' state lives on one partition, the one its source's readings are on,
        # and is named by it (so a restart finds one copy, and a worker owning a partition
        # owns its state); readings are keyed by district, so a district is on one.
        state = partitions_by_key(namespace, [f"{prefix}-worker-detector_state-changelog"],
                                  lambda m: json.loads(m.key))  # fmt: skip
        sources = partitions_by_key(namespace, inputs, _source_of)
        districts = partitions_by_key(namespace, inputs, lambda m: m.key.decode())
        assert districts and all(len(p) == 1 for p in districts.values())
        series = {k: p for k, p in state.items() if "|" in k}
        assert series
        for name, parts in series.items():
            head, _, key = name.partition("/")
            assert parts == {int(head)}, name  # written where it is named
            source = key.split("|")[0]
            if source in sources:
                assert parts == sources[source], name
        # The restart re-read events the first worker had consumed: the restored detectors
        # learnt those after the snapshot once more, and skipped any learnt before it.
        assert "re-delivered events" in second.log_tail(2000)
    finally:
        first.stop()
        second.stop()
        if sim.poll() is None:
            sim.kill()
