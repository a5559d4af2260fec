"""The worker's own Faust topics exist, as Faust would declare them, before it joins its
group: a first assignment made while the broker did not list a table's changelog left
that table out, and a restart under the static member id was handed the same assignment
(the alert engine then restarted empty)."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer
from prometheus_client import CollectorRegistry

from infra.kafka import ensure_internal_topics, topic_config
from infra.settings import CommonSettings, WorkerSettings, load
from streams.app import create_app, internal_topics
from streams.metrics import WorkerMetrics
from tests.conftest import WORKER_TOPICS

pytestmark = pytest.mark.integration


def test_the_worker_topics_are_made_before_the_group_forms(isolated: CommonSettings) -> None:
    prefix = isolated.kafka_topic_prefix
    settings = load(WorkerSettings, kafka_topic_prefix=prefix,
                    clickhouse_database=isolated.clickhouse_database,
                    worker_app_id=f"{prefix}-worker")  # fmt: skip
    topics = internal_topics(create_app(settings, WorkerMetrics.create(CollectorRegistry())))
    # the names the tests' clean-up deletes are the ones the worker makes
    assert set(topics) == {f"{prefix}-worker-{name}" for name in WORKER_TOPICS}

    assert sorted(ensure_internal_topics(settings, topics)) == sorted(topics)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None)
    try:
        partitions = {name: len(consumer.partitions_for_topic(name) or ()) for name in topics}
    finally:
        consumer.close()
    assert partitions == {
        f"{prefix}-worker-detector_state-changelog": settings.kafka_partitions,
        f"{prefix}-worker-alert_engine-changelog": 1,
        f"{prefix}-worker-__assignor-__leader": 1,
    }
    for name in topics:
        compacted = "compact" if name.endswith("-changelog") else None
        assert topic_config(settings, name, "cleanup.policy") == compacted, name
    assert ensure_internal_topics(settings, topics) == []  # a restart makes none again
