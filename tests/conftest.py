"""Shared fixtures. Integration tests need the real services that `scripts/services start`
runs; they fail with that instruction when the services are not there."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from infra.clickhouse import connect, drop_database, ensure_schema
from infra.settings import CommonSettings, load

ROOT = Path(__file__).resolve().parents[1]
WORKER_TOPICS = ("detector_state-changelog", "alert_engine-changelog", "__assignor-__leader")
"""Topics the worker (a Faust app) makes for itself: its tables' changelogs, its leader."""


def _services_settings() -> CommonSettings:
    return load(CommonSettings)


@pytest.fixture(scope="session")
def services() -> CommonSettings:
    """The configured Kafka and ClickHouse, checked to answer."""
    settings = _services_settings()
    try:
        client = connect(settings, database="")
        client.execute("SELECT 1")
        client.disconnect()
    except Exception as exc:  # pragma: no cover - only when services are down
        pytest.fail(f"ClickHouse is not answering ({exc}); run scripts/services start")
    try:
        from kafka import KafkaAdminClient

        admin = KafkaAdminClient(
            bootstrap_servers=settings.kafka_bootstrap, request_timeout_ms=5000
        )
        admin.list_topics()
        admin.close()
    except Exception as exc:  # pragma: no cover
        pytest.fail(f"Kafka is not answering ({exc}); run scripts/services start")
    return settings


@pytest.fixture
def isolated(services: CommonSettings) -> Iterator[CommonSettings]:
    """Settings with a fresh ClickHouse database and topic prefix of their own, dropped after."""
    tag = uuid.uuid4().hex[:10]
    database = f"cbtest_{tag}"
    settings = load(
        type(services),
        clickhouse_database=database,
        kafka_topic_prefix=f"cbtest-{tag}",
    )
    ensure_schema(settings)
    yield settings
    drop_topics_and_worker_data(settings)
    if not os.environ.get("CITYBRAIN_KEEP_TEST_DATA"):
        drop_database(settings, database)


def drop_topics_and_worker_data(settings: CommonSettings) -> None:
    """Delete a test namespace's topics, the worker's changelog and group topics, and the
    worker's local data (tests that ran no worker have none: nothing to delete)."""
    from infra.kafka import delete_topics, namespace_topics

    prefix = settings.kafka_topic_prefix
    worker = [f"{prefix}-worker-{name}" for name in WORKER_TOPICS]
    delete_topics(settings, [*namespace_topics(prefix), *worker])
    shutil.rmtree(ROOT / ".local" / "test-worker" / prefix, ignore_errors=True)
