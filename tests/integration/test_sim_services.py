"""The simulator against the real ClickHouse and Kafka that `scripts/services start` runs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.consumer.fetcher import ConsumerRecord

from detectors.contract.events import Family
from detectors.contract.validation import Invalid, TimeBounds, validate
from infra.clickhouse import connect
from infra.process import free_port
from infra.settings import CommonSettings
from infra.topics import all_family_topics
from sensors_sim.__main__ import main
from sensors_sim.city import build_city, registry
from sensors_sim.generator import generate
from sensors_sim.reference import write_reference

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
START = "2025-11-26T00:00:00Z"
START_MS = 1_764_115_200_000


@pytest.fixture
def sim_env(isolated: CommonSettings, monkeypatch: pytest.MonkeyPatch) -> Iterator[CommonSettings]:
    """The isolated namespace as the simulator's environment; its topics deleted after."""
    monkeypatch.setenv("CITYBRAIN_CLICKHOUSE_DATABASE", isolated.clickhouse_database)
    monkeypatch.setenv("CITYBRAIN_KAFKA_TOPIC_PREFIX", isolated.kafka_topic_prefix)
    monkeypatch.setenv("CITYBRAIN_KAFKA_BOOTSTRAP", isolated.kafka_bootstrap)
    monkeypatch.setenv("CITYBRAIN_SIM_METRICS_PORT", "0")
    yield isolated
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        _delete_topics(isolated)


def _delete_topics(settings: CommonSettings) -> None:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        ours = [t for t in admin.list_topics() if t.startswith(settings.kafka_topic_prefix + ".")]
        if ours:
            admin.delete_topics(ours)
    finally:
        admin.close()


def _consume_all(settings: CommonSettings, timeout_s: float = 30.0) -> list[ConsumerRecord]:
    """Every message now in the namespace's family topics, read from the beginning."""
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False, group_id=None
    )
    try:
        consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in all_family_topics(settings.kafka_topic_prefix).values()
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = consumer.end_offsets(partitions)
        records: list[ConsumerRecord] = []
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < end[tp] for tp in partitions):
            assert time.monotonic() < deadline, "could not read the topics to their end"
            for batch in consumer.poll(timeout_ms=500).values():
                records.extend(batch)
        return records
    finally:
        consumer.close()


def _end_offsets_total(settings: CommonSettings) -> int:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        topics = consumer.topics()
        partitions = [
            TopicPartition(topic, p)
            for topic in all_family_topics(settings.kafka_topic_prefix).values()
            if topic in topics
            for p in consumer.partitions_for_topic(topic) or ()
        ]
        return sum(consumer.end_offsets(partitions).values()) if partitions else 0
    finally:
        consumer.close()


def test_reference_data_is_written_and_readable(sim_env: CommonSettings) -> None:
    city = build_city(seed=8)
    write_reference(sim_env, city)
    write_reference(sim_env, city)  # a rewrite replaces, never duplicates
    client = connect(sim_env)
    try:
        levels = dict(client.execute("SELECT level, count() FROM areas FINAL GROUP BY level"))
        assert levels == {"city": 1, "district": 6, "street": 24, "grid": 288}
        ring_text, parent, district = client.execute(
            "SELECT ring, parent, district FROM areas FINAL WHERE code = %(code)s",
            {"code": "D2-S1-G03"},
        )[0]
        cell = next(a for a in city.areas if a.code == "D2-S1-G03")
        assert [tuple(p) for p in orjson.loads(ring_text)] == list(cell.ring)
        assert (parent, district) == ("D2-S1", "D2")
        rows = client.execute(
            "SELECT source_id, family, kind, metrics, grid, lon, lat, cadence_s FROM sources FINAL"
        )
    finally:
        client.disconnect()
    assert len(rows) == len(city.sources)
    by_id = {source.source_id: source for source in city.sources}
    for source_id, family, kind, metrics, grid, lon, lat, cadence_s in rows:
        source = by_id[source_id]
        assert (family, kind, grid) == (source.family.value, source.kind, source.location.grid)
        assert set(metrics) == source.metrics
        assert (lon, lat, cadence_s) == (source.lon, source.lat, source.cadence_s)


def test_run_produces_exactly_what_it_reports(
    sim_env: CommonSettings, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["run", "--seed", "3", "--rate", "400", "--count", "200", "--malformed", "0.05",
            "--start", START, "--max-speed"]  # fmt: skip
    assert main(argv) == 0
    summary = orjson.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["sent"] == 200 and summary["send_errors"] == 0
    assert summary["valid"] + summary["malformed"] == 200
    assert summary["malformed"] == sum(summary["by_reason"].values()) > 0

    records = _consume_all(sim_env)
    assert len(records) == 200
    prefix = sim_env.kafka_topic_prefix + "."
    by_family = Counter(r.topic.removeprefix(prefix) for r in records)
    assert dict(by_family) == summary["by_family"]

    city = build_city(seed=3)
    expected = list(generate(city, 3, START_MS, 400.0, 200, 0.05, 0.02))
    assert sorted(r.value for r in records) == sorted(e.value for e in expected)
    known, bounds = registry(city), TimeBounds(now_ms=START_MS + 1000)
    reasons: Counter[str] = Counter()
    for record in records:
        verdict = validate(record.value, Family(record.topic.removeprefix(prefix)), known, bounds)
        if isinstance(verdict, Invalid):
            reasons[verdict.reason] += 1
    assert dict(reasons) == summary["by_reason"]

    client = connect(sim_env)
    try:
        assert client.execute("SELECT count() FROM sources FINAL")[0][0] == len(city.sources)
    finally:
        client.disconnect()


def _wait_until(condition: object, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_sigint_stops_gracefully_and_nothing_is_lost(sim_env: CommonSettings) -> None:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "sensors_sim", "run", "--rate", "300", "--no-reference",
         "--metrics-port", str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=dict(os.environ),
    )  # fmt: skip
    try:
        _wait_until(lambda: _end_offsets_total(sim_env) >= 100, 60, "the first 100 events")
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        assert b"citybrain_sim_events_sent_total{" in metrics
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()
    summary = orjson.loads(out.decode().strip().splitlines()[-1])
    assert summary["send_errors"] == 0
    assert summary["sent"] >= 100
    assert len(_consume_all(sim_env)) == summary["sent"]
