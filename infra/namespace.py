"""A namespace of one's own on the services: a ClickHouse database and a Kafka topic prefix
that a test, a bench or a replay creates, uses alone, and removes with everything in it.

Removing a namespace deletes every topic it owns (its own and its worker's: table
changelogs, leader topic), its worker's consumer group and local data, and drops its
database. Tests and benches make theirs with :func:`fresh_namespace`; replays name theirs
(replay.namespace) and remove them with :func:`remove_namespace`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TypeVar

from kafka import KafkaAdminClient
from kafka.errors import KafkaError, UnknownTopicOrPartitionError

from infra.clickhouse import drop_database, ensure_schema
from infra.kafka import ensure_topics, namespace_topics
from infra.process import namespace_env
from infra.settings import CommonSettings
from infra.topics import owned_by, worker_app_id

S = TypeVar("S", bound=CommonSettings)

WORKER_DATA = Path(__file__).resolve().parents[1] / ".local" / "test-worker"
"""Where the workers of test and bench namespaces keep their local state, one folder per
topic prefix."""

_TAG_PREFIX = re.compile(r"[a-z][a-z0-9]*")


def namespace_settings(settings: S, tag_prefix: str, tag: str) -> S:
    """``settings`` pointed at database ``<tag_prefix>_<tag>`` and topic prefix
    ``<tag_prefix>-<tag>``."""
    if not _TAG_PREFIX.fullmatch(tag_prefix) or not re.fullmatch(r"[a-z0-9]+", tag):
        raise ValueError(f"namespace {tag_prefix!r}/{tag!r}: want [a-z][a-z0-9]* and [a-z0-9]+")
    return settings.model_copy(
        update={
            "clickhouse_database": f"{tag_prefix}_{tag}",
            "kafka_topic_prefix": f"{tag_prefix}-{tag}",
        }
    )


def new_tag(length: int = 10) -> str:
    """A random tag that makes a namespace's names unique."""
    return uuid.uuid4().hex[:length]


def worker_data_dir(settings: CommonSettings) -> Path:
    """The local data folder of a worker in ``settings``' namespace (tests and benches)."""
    return WORKER_DATA / settings.kafka_topic_prefix


def child_env(settings: CommonSettings, **extra: str) -> dict[str, str]:
    """This process's environment for a child (worker, simulator, replay) pointed at
    ``settings``' namespace, with the worker's data in :func:`worker_data_dir`; ``extra``
    CITYBRAIN_* variables on top."""
    return namespace_env(os.environ, settings, worker_data_dir(settings), **extra)


def _admin(settings: CommonSettings) -> KafkaAdminClient:
    return KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=15000)


def _listed(admin: KafkaAdminClient, prefix: str) -> list[str]:
    return sorted(t for t in admin.list_topics() if owned_by(prefix, t))


def owned_topics(settings: CommonSettings) -> list[str]:
    """Every topic on the broker that belongs to ``settings``' namespace, sorted."""
    admin = _admin(settings)
    try:
        return _listed(admin, settings.kafka_topic_prefix)
    finally:
        admin.close()


def remove_namespace(
    settings: CommonSettings, *, keep_database: bool = False, data_dir: Path | None = None
) -> list[str]:
    """Delete the topics of ``settings``' namespace and its worker's, the worker's
    consumer group and its local ``data_dir`` (if given), and drop the database (unless
    ``keep_database``); returns the topics deleted.

    The namespace's own topics are named in the request even when the broker does not
    list them yet: its metadata lags a topic made a moment before."""
    prefix = settings.kafka_topic_prefix
    admin = _admin(settings)
    try:
        wanted = sorted({*_listed(admin, prefix), *namespace_topics(prefix)})
        answer = admin.delete_topics(wanted, raise_errors=False)
        deleted, failed = [], []
        for topic in answer.get("topics", []):
            code = topic.get("error_code", 0)
            if code == 0:
                deleted.append(topic["name"])
            elif code != UnknownTopicOrPartitionError.errno:
                failed.append(f"{topic['name']} ({topic.get('error_message') or code})")
        if failed:
            raise KafkaError("could not delete topics: " + ", ".join(failed))
        with contextlib.suppress(KafkaError):  # no group if no worker ever joined
            admin.delete_groups([worker_app_id(prefix)])
    finally:
        admin.close()
    if data_dir is not None:
        shutil.rmtree(data_dir, ignore_errors=True)
    if not keep_database:
        drop_database(settings, settings.clickhouse_database)
    return sorted(deleted)


@contextlib.contextmanager
def fresh_namespace(
    settings: S,
    tag_prefix: str = "cbtest",
    *,
    tag: str | None = None,
    topics: bool = False,
    keep: bool = False,
    keep_database: bool = False,
) -> Iterator[S]:
    """``settings`` in a new namespace (database ``<tag_prefix>_<tag>`` with every table,
    topic prefix ``<tag_prefix>-<tag>``, and its topics made first if ``topics``; ``tag``
    random unless given), removed at the end with its worker's topics, group and local data
    (:func:`worker_data_dir`). ``keep`` leaves everything in place; ``keep_database``
    removes all but the database."""
    inside = namespace_settings(settings, tag_prefix, tag or new_tag())
    try:
        ensure_schema(inside)
        if topics:
            ensure_topics(inside)
        yield inside
    finally:
        if not keep:
            remove_namespace(inside, keep_database=keep_database, data_dir=worker_data_dir(inside))
