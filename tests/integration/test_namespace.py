"""A fresh namespace on the real broker and server: made with its schema and topics, and
removed with everything in it (database, its topics and its worker's, the worker's group
and local data), also when the code inside fails."""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata
from prometheus_client import CollectorRegistry

from infra.clickhouse import connect, drop_database
from infra.kafka import ensure_internal_topics, namespace_topics
from infra.namespace import fresh_namespace, owned_topics, remove_namespace, worker_data_dir
from infra.settings import CommonSettings, WorkerSettings, load
from infra.topics import worker_app_id
from streams.app import create_app, internal_topics
from streams.metrics import WorkerMetrics
from tests.integration.harness import wait_for
from tests.integration.test_replay_support import databases

pytestmark = pytest.mark.integration


def _groups(settings: CommonSettings) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return {group["group_id"] for group in admin.list_groups()}
    finally:
        admin.close()


def _as_worker(ns: CommonSettings) -> None:
    """What a worker leaves in ``ns``: Faust's own topics, a committed group, local data."""
    app_id = worker_app_id(ns.kafka_topic_prefix)
    worker = load(WorkerSettings, kafka_topic_prefix=ns.kafka_topic_prefix,
                  clickhouse_database=ns.clickhouse_database, worker_app_id=app_id)  # fmt: skip
    # metrics of its own: another test of the session may have built a worker app too
    app = create_app(worker, WorkerMetrics.create(CollectorRegistry()))
    ensure_internal_topics(worker, internal_topics(app))
    consumer = KafkaConsumer(bootstrap_servers=ns.kafka_bootstrap, group_id=app_id,
                             enable_auto_commit=False)  # fmt: skip
    try:
        first = TopicPartition(namespace_topics(ns.kafka_topic_prefix)[0], 0)
        consumer.assign([first])
        consumer.commit({first: OffsetAndMetadata(0, "", -1)})
    finally:
        consumer.close()
    worker_data_dir(ns).mkdir(parents=True, exist_ok=True)
    (worker_data_dir(ns) / "state").write_text("x")


def test_a_namespace_is_made_and_then_removed_with_everything_in_it(
    services: CommonSettings,
) -> None:
    with fresh_namespace(services, "cbtest", topics=True) as ns:
        prefix = ns.kafka_topic_prefix
        assert ns.clickhouse_database.startswith("cbtest_") and prefix.startswith("cbtest-")
        assert ns.clickhouse_database in databases(services)
        client = connect(ns)
        try:
            assert client.execute("SELECT count() FROM events_raw") == [(0,)]
        finally:
            client.disconnect()
        assert set(namespace_topics(prefix)) <= set(owned_topics(ns))
        _as_worker(ns)
        made = owned_topics(ns)
        assert f"{prefix}-worker-detector_state-changelog" in made
        assert worker_app_id(prefix) in _groups(services)
        assert worker_data_dir(ns).exists()
    assert ns.clickhouse_database not in databases(services)
    assert not worker_data_dir(ns).exists()
    assert worker_app_id(prefix) not in _groups(services)
    wait_for(lambda: not owned_topics(ns), 60, f"the topics of {prefix} to be deleted")


def test_a_failure_inside_still_removes_it_and_keep_keeps_what_it_says(
    services: CommonSettings,
) -> None:
    with pytest.raises(RuntimeError), fresh_namespace(services, "cbtest") as failed:
        raise RuntimeError("the code inside failed")
    assert failed.clickhouse_database not in databases(services)

    with fresh_namespace(services, "cbtest", topics=True, keep_database=True) as kept:
        pass
    try:
        assert kept.clickhouse_database in databases(services)
        wait_for(lambda: not owned_topics(kept), 60, "the kept namespace's topics to go")
    finally:
        drop_database(services, kept.clickhouse_database)

    with fresh_namespace(services, "cbtest", topics=True, keep=True) as everything:
        pass
    try:
        assert everything.clickhouse_database in databases(services)
        wait_for(lambda: len(owned_topics(everything)) == len(namespace_topics(
            everything.kafka_topic_prefix)), 30, "the kept topics listed")  # fmt: skip
    finally:
        remove_namespace(everything)
    assert everything.clickhouse_database not in databases(services)
