"""Kafka administration shared by the processes: create the topics a namespace needs."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic
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


KEYED = {"deadletter": {"cleanup.policy": "compact", "segment.ms": "3600000"}}
"""Topics whose message is identified by its key, so the broker keeps the last message of
each key (compaction, on segments closed hourly). A dead letter's key is the position of
the message it stands for (``<topic>/<partition>/<offset>``): a worker killed after
sending it and before committing its input sends it again on restart, and the two are one
dead letter. Readers follow the same rule before compaction has run: the last message of
each key (:func:`latest_by_key`), as readers of ``dead_letters`` take FINAL."""


def configs_for(topic: str) -> dict[str, str]:
    """The topic-level settings a topic is created (or brought) to."""
    return dict(KEYED.get(topic.rsplit(".", 1)[-1], {}))


def ensure_topics(settings: CommonSettings, names: list[str] | None = None) -> list[str]:
    """Create missing topics with their partition counts and settings, and bring existing
    keyed topics to theirs (a namespace made before a setting existed); returns those
    created."""
    wanted = names or namespace_topics(settings.kafka_topic_prefix)
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        specs = {name: (partitions_for(settings, name), configs_for(name)) for name in wanted}
        created = _create_missing(admin, specs, settings.kafka_replication_factor)
        for name, (_, configs) in specs.items():
            if configs and name not in created:
                admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, name, configs)])
        _wait_listed(admin, {name: specs[name] for name in created}, 30.0)
        return created
    finally:
        admin.close()


def ensure_internal_topics(
    settings: CommonSettings, topics: Mapping[str, tuple[int, dict[str, str]]], wait_s: float = 30.0
) -> list[str]:
    """Create the stream framework's own topics (``name -> (partitions, settings)``) that
    are missing, then wait until the broker's metadata lists every one with all its
    partitions; returns those created. A consumer group's first assignment leaves out a
    topic its leader cannot see yet, and a worker that rejoins under its static member id
    is handed that assignment again (so its table would never be restored)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        created = _create_missing(admin, topics, settings.kafka_replication_factor)
        _wait_listed(admin, topics, wait_s)
        return created
    finally:
        admin.close()


def _wait_listed(
    admin: KafkaAdminClient, topics: Mapping[str, tuple[int, dict[str, str]]], wait_s: float
) -> None:
    """Wait until the broker's metadata lists every topic of ``topics`` with all its
    partitions (a topic just created may not be listed yet on a loaded broker)."""
    if not topics:
        return
    deadline = time.monotonic() + wait_s
    while True:
        seen = {t["name"]: len(t["partitions"]) for t in admin.describe_topics(list(topics))
                if not t.get("error_code")}  # fmt: skip
        short = [n for n, (partitions, _) in topics.items() if seen.get(n, 0) < partitions]
        if not short:
            return
        if time.monotonic() > deadline:
            raise TimeoutError(f"topics not in the broker's metadata after {wait_s:.0f} s: "
                               + ", ".join(short))  # fmt: skip
        time.sleep(0.2)


def _create_missing(
    admin: KafkaAdminClient, specs: Mapping[str, tuple[int, dict[str, str]]], replicas: int = 1
) -> list[str]:
    """Create the topics of ``specs`` (``name -> (partitions, settings)``) that do not exist,
    each with ``replicas`` replicas."""
    existing = set(admin.list_topics())
    created = []
    for name, (partitions, configs) in specs.items():
        if name in existing:
            continue
        topic = NewTopic(name, num_partitions=partitions, replication_factor=replicas,
                         topic_configs=configs)  # fmt: skip
        try:
            admin.create_topics([topic])
            created.append(name)
        except TopicAlreadyExistsError:
            pass  # another process created it first
    return created


def latest_by_key(settings: CommonSettings, topic: str) -> dict[bytes, bytes]:
    """Every key of a keyed topic with its last message, read from the start to the end:
    the reading rule of :data:`KEYED` topics (dead letters)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             enable_auto_commit=False)  # fmt: skip
    try:
        parts = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        latest: dict[bytes, bytes] = {}
        while any(consumer.position(tp) < end for tp, end in ends.items()):
            for records in consumer.poll(timeout_ms=1000).values():
                latest.update((r.key, r.value) for r in records if r.key is not None)
        return latest
    finally:
        consumer.close()


def topic_config(settings: CommonSettings, topic: str, key: str) -> str | None:
    """One topic-level setting set on the topic itself (None: the broker's default)."""
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)
    try:
        answer = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entry = answer.get("topic", {}).get(topic, {}).get(key)
        return None if entry is None else str(entry["value"])
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
    return sum(group_lags(settings, group_id, topics).values())


def group_lags(
    settings: CommonSettings, group_id: str, topics: list[str]
) -> dict[TopicPartition, int]:
    """Each partition's part of :func:`group_lag`."""
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
        return {tp: ends[tp] - done.get(tp, starts[tp]) for tp in parts}
    finally:
        consumer.close()
        admin.close()


def group_members(settings: CommonSettings, group_id: str) -> int:
    """Members of consumer group ``group_id`` once it is stable (0 while it rebalances or
    when it has none): the workers sharing the input's partitions."""
    logging.getLogger("kafka.admin").setLevel(logging.ERROR)  # it cannot decode Faust's
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        group = admin.describe_groups([group_id])[group_id]
    finally:
        admin.close()
    return len(group.get("members") or ()) if group.get("group_state") == "Stable" else 0
