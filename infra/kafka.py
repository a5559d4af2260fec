"""Kafka administration shared by the processes: create the topics a namespace needs."""

from __future__ import annotations

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import TopicAlreadyExistsError

from infra.settings import CommonSettings
from infra.topics import (
    alert_actions_topic,
    alerting_topic,
    alerts_topic,
    all_family_topics,
    dead_letter_topic,
    merged_topic,
)


def namespace_topics(prefix: str) -> list[str]:
    """Every topic of one namespace (live or a replay's)."""
    return [
        *all_family_topics(prefix).values(),
        dead_letter_topic(prefix),
        alerts_topic(prefix),
        alert_actions_topic(prefix),
        alerting_topic(prefix),
        merged_topic(prefix),
    ]


SINGLE_PARTITION = ("alerting", "alert_actions")
"""Topics of one partition: the city's one alert engine reads them in one total order."""


def partitions_for(settings: CommonSettings, topic: str) -> int:
    return 1 if topic.rsplit(".", 1)[-1] in SINGLE_PARTITION else settings.kafka_partitions


def ensure_topics(settings: CommonSettings, names: list[str] | None = None) -> list[str]:
    """Create missing topics with their partition counts; returns those created."""
    wanted = names or namespace_topics(settings.kafka_topic_prefix)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        missing = [t for t in wanted if t not in set(admin.list_topics())]
        created = []
        for name in missing:
            try:
                admin.create_topics(
                    [
                        NewTopic(
                            name,
                            num_partitions=partitions_for(settings, name),
                            replication_factor=1,
                        )
                    ]
                )
                created.append(name)
            except TopicAlreadyExistsError:
                pass  # another process created it first
        return created
    finally:
        admin.close()


def delete_topics(settings: CommonSettings, names: list[str]) -> None:
    """Delete topics that exist (tests and replays clean up after themselves)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        existing = set(admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            admin.delete_topics(doomed)
    finally:
        admin.close()


def group_lag(settings: CommonSettings, group_id: str, topics: list[str]) -> int:
    """Messages of ``topics`` that consumer group ``group_id`` has not committed yet (a
    partition it never committed counts from its first offset): 0 when it has caught up."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             allow_auto_create_topics=False)  # fmt: skip
    try:
        committed = admin.list_group_offsets({group_id: None}).get(group_id, {})
        parts = [
            TopicPartition(t, p) for t in topics for p in consumer.partitions_for_topic(t) or ()
        ]
        starts, ends = consumer.beginning_offsets(parts), consumer.end_offsets(parts)
        done = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
        return sum(ends[tp] - done.get(tp, starts[tp]) for tp in parts)
    finally:
        consumer.close()
        admin.close()
