"""The cluster of scripts/cluster loses a broker, a ClickHouse replica and the worker during
a run, and every valid event is still stored exactly once.

Run it (it is skipped without a cluster):
    export CITYBRAIN_CLUSTER_PORT_BASE=29100   # or any base with 60 free ports above it
    scripts/cluster up && eval "$(scripts/cluster env)"   # env also exports the base
    .venv/bin/pytest -q -s -p no:cacheprovider tests/cluster

While the simulator produces: broker kafka2 is killed (-9), replica clickhouse1 (the one
writers try first) is stopped, and the worker is killed (-9) and started again; then
`scripts/cluster up` brings kafka2 and clickhouse1 back. At the end the Distributed table
holds each valid event once, and each replica holds every row.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from kafka import KafkaAdminClient

from infra.clickhouse import connect, replica_hosts
from infra.kafka import namespace_topics
from infra.namespace import fresh_namespace, new_tag
from infra.settings import CommonSettings, load
from tests.conftest import WORKER_TOPICS
from tests.integration.harness import process_env, run_sim, settled, wait_for, worker_process

pytestmark = pytest.mark.cluster

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / ".local" / "cluster" / "run"
EVENTS = 6000


@pytest.fixture
def cluster() -> Iterator[CommonSettings]:
    base = load(CommonSettings)
    if not base.clickhouse_cluster or "CITYBRAIN_CLUSTER_PORT_BASE" not in os.environ:
        pytest.skip('no cluster: scripts/cluster up && eval "$(scripts/cluster env)"')
    with fresh_namespace(base, "cbcluster", tag=new_tag(8), topics=True) as settings:
        yield settings
        _cluster("up")  # whatever the test stopped; then the namespace goes, on every replica


def _cluster(command: str) -> None:
    subprocess.run([str(ROOT / "scripts" / "cluster"), command], check=True, cwd=ROOT)


def _kill(node: str, service: str, sig: signal.Signals) -> None:
    pid = int((RUN / node / f"{service}.pid").read_text())
    os.kill(pid, sig)
    print(f"sent {sig.name} to {node} (pid {pid})")


def _replicas(settings: CommonSettings, topics: list[str]) -> dict[str, int]:
    """The fewest replicas of any partition, per topic."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return {t["name"]: min(len(p["replica_nodes"]) for p in t["partitions"])
                for t in admin.describe_topics(topics)}  # fmt: skip
    finally:
        admin.close()


def _count(settings: CommonSettings, sql: str, host: str = "", port: int = 0) -> int:
    """One number, from ``host:port`` only, or from any replica that answers."""
    where: dict[str, object] = {"host": host, "port": port, "alt_hosts": None} if host else {}
    client = connect(settings, None, **where)
    try:
        return int(client.execute(sql)[0][0])
    finally:
        client.disconnect()


def _holds(settings: CommonSettings, host: str, port: int, n: int) -> Callable[[], bool]:
    """Whether replica ``host:port`` has every one of ``n`` events in its own table."""
    return lambda: _count(settings, "SELECT count() FROM events_raw FINAL", host, port) == n


def _stored(settings: CommonSettings) -> int:
    try:
        return _count(settings, "SELECT count() FROM events_raw_dist FINAL")
    except Exception:  # a replica going away mid-query: ask again at the next poll
        return -1


def test_a_broker_a_replica_and_the_worker_die_and_nothing_is_lost_or_doubled(
    cluster: CommonSettings,
) -> None:
    env = process_env(cluster)
    replicas = _replicas(cluster, namespace_topics(cluster.kafka_topic_prefix))
    assert set(replicas.values()) == {3}, replicas  # every partition on every broker
    worker = worker_process(cluster, "cluster")
    worker.start()
    sim = run_sim(env, "--seed", "7", "--rate", "200", "--count", str(EVENTS),
                  "--malformed", "0", "--case-fraction", "0", background=True)  # fmt: skip
    try:
        wait_for(lambda: _stored(cluster) >= 1000, 180, "1000 events stored", worker)
        _kill("kafka2", "kafka", signal.SIGKILL)
        wait_for(lambda: _stored(cluster) >= 2000, 180, "2000 events stored", worker)
        _kill("clickhouse1", "clickhouse", signal.SIGTERM)
        wait_for(lambda: _stored(cluster) >= 3000, 180, "3000 events stored", worker)
        worker.kill()
        print("killed the worker (-9); starting it again")
        worker = worker_process(cluster, "cluster-again")
        worker.start()
        out, err = sim.communicate(timeout=300)
        assert sim.returncode == 0, err.decode()[-2000:]
        summary = json.loads(out.decode().strip().splitlines()[-1])
        print(f"simulator: {summary}")
        _cluster("up")  # kafka2 and clickhouse1 back
        valid = int(summary["valid"])
        assert valid == EVENTS and summary["send_errors"] == 0
        settled(cluster, worker, 300)
        wait_for(lambda: _stored(cluster) >= valid, 120, f"{valid} events stored", worker)
    finally:
        worker.stop()
        if sim.poll() is None:
            sim.kill()
    total = _count(cluster, "SELECT count() FROM events_raw_dist FINAL")
    distinct = _count(cluster, "SELECT uniqExact(event_id) FROM events_raw_dist")
    rows = _count(cluster, "SELECT count() FROM events_raw_dist")
    print(f"valid events produced {valid}; stored (FINAL) {total}; distinct ids {distinct}; "
          f"rows before merges {rows}")  # fmt: skip
    assert total == distinct == valid, "lost or duplicated events"
    changelogs = [f"{cluster.kafka_topic_prefix}-worker-{name}" for name in WORKER_TOPICS[:2]]
    assert set(_replicas(cluster, changelogs).values()) == {3}  # the worker's state too
    for host, port in replica_hosts(cluster):
        wait_for(
            _holds(cluster, host, port, valid), 120, f"replica {host}:{port} to hold every event"
        )
        print(f"replica {host}:{port}: {valid} events")
