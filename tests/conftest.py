"""Shared fixtures. Integration tests need the real services that `scripts/services start`
runs; they fail with that instruction when the services are not there."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from infra.clickhouse import connect
from infra.namespace import fresh_namespace
from infra.settings import CommonSettings, load

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
    """Settings with a fresh ClickHouse database and topic prefix of their own, removed
    after with the worker's topics and data (the database stays with
    CITYBRAIN_KEEP_TEST_DATA set)."""
    keep_database = bool(os.environ.get("CITYBRAIN_KEEP_TEST_DATA"))
    with fresh_namespace(services, "cbtest", keep_database=keep_database) as settings:
        yield settings
