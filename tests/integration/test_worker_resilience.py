"""The worker against a ClickHouse that goes away and comes back, and a stop under load:
writes resume within 2 s of the server answering again; SIGTERM under load ends cleanly
within 10 s with the offsets of every stored message committed. Both print what they
measured."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator

import pytest
from kafka import KafkaAdminClient, KafkaProducer

from detectors.contract.events import Family
from infra.kafka import ensure_topics
from infra.process import wait_until
from infra.settings import CommonSettings
from infra.topics import all_family_topics, family_topic, worker_app_id
from tests.integration.harness import (
    process_env,
    run_sim,
    stored_counts,
    wait_for,
    worker_process,
)

pytestmark = pytest.mark.integration

OUTAGE_S = 12.0
"""Long enough for an uncapped backoff to grow past several seconds (the scenario itself,
not a wait standing in for a condition)."""


class Gate:
    """A TCP relay to ClickHouse that the test opens and shuts: shut, it refuses new
    connections and cuts open ones, as a stopped server does."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self._listener: socket.socket | None = None
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()

    def open(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def shut(self) -> None:
        if self._listener is not None:  # shutdown wakes the accept(), close alone does not
            _cut(self._listener)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._open:
                _cut(conn)
                conn.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self._open += [client, upstream]
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                dst.sendall(chunk)
        except OSError:
            pass
        _cut(src)
        _cut(dst)


def _cut(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already cut by the other side
        conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def _dead(settings: CommonSettings) -> int:
    return stored_counts(settings)["dead"]


def test_writes_resume_within_2_s_of_clickhouse_coming_back(namespace: CommonSettings) -> None:
    gate = Gate(namespace.clickhouse_port)
    gate.open()
    worker = worker_process(namespace, "outage", CITYBRAIN_CLICKHOUSE_PORT=str(gate.port))
    producer = KafkaProducer(bootstrap_servers=namespace.kafka_bootstrap)
    topic = family_topic(namespace.kafka_topic_prefix, Family.WATER)
    worker.start()
    try:
        producer.send(topic, b"{first").get(10)
        wait_for(lambda: _dead(namespace) == 1, 90, "the first dead letter", worker)
        gate.shut()
        for n in range(50):
            producer.send(topic, b"{during the outage %d" % n)
        producer.flush()
        time.sleep(OUTAGE_S)
        assert _dead(namespace) == 1, "the gate let writes through"
        # asked where it waits (SIGUSR1), it names the task held by the outage
        waits = worker.where_it_waits()
        assert waits.startswith("where the worker waits: "), worker.log_tail()
        assert "in _wait_for_server" in waits, waits
        assert "consumer: flow on" in waits, waits
        assert "  without a fetch position: none" in waits.splitlines(), waits  # aiokafka's
        assert any(line.startswith("  queue of ") and topic in line for line in
                   waits.splitlines()), waits  # fmt: skip
        gate.open()
        back = time.monotonic()
        wait_until(lambda: _dead(namespace) == 51, 60, "the held dead letters", worker,
                   poll_s=0.05)  # fmt: skip
        resumed_s = time.monotonic() - back
    finally:
        producer.close()
        worker.stop()
        gate.shut()
    print(f"writes resumed {resumed_s:.2f} s after ClickHouse answered again")
    assert resumed_s < 2.0, worker.log_tail()


def _committed(settings: CommonSettings) -> int:
    """Messages below the worker group's committed offsets, over every family topic."""
    topics = set(all_family_topics(settings.kafka_topic_prefix).values())
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        group = worker_app_id(settings.kafka_topic_prefix)
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return sum(meta.offset for tp, meta in offsets.items() if tp.topic in topics)


def test_stop_under_load_is_clean_within_10_s(namespace: CommonSettings) -> None:
    env = process_env(namespace)
    worker = worker_process(namespace, "stop")
    worker.start()
    sim = run_sim(env, "--seed", "5", "--rate", "200", "--count", "8000", background=True)
    try:
        wait_for(lambda: sum(stored_counts(namespace).values()) >= 2000, 120,
                 "the worker to store under load", worker)  # fmt: skip
        asked = time.monotonic()
        code = worker.stop(timeout_s=30)
        stop_s = time.monotonic() - asked
    finally:
        worker.stop()
        sim.kill()
        sim.communicate()
    stored, committed = sum(stored_counts(namespace).values()), _committed(namespace)
    print(f"stop under load took {stop_s:.2f} s (exit code {code}); {stored} messages stored, "
          f"{committed} committed")  # fmt: skip
    assert code == 0 and stop_s < 10.0, worker.log_tail()
    assert committed == stored
    lines = worker.log_path.read_text().splitlines()
    print(f"the worker logged {len(lines)} lines")
    assert not [line for line in lines if "producer buffer full" in line]  # a metric now
