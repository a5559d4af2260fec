"""Helpers shared by the replay integration tests (this module holds no tests): a
"live" namespace of the test's own, the replay command run as a user runs it, clean-up."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import orjson
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from infra.clickhouse import connect
from infra.namespace import fresh_namespace
from infra.settings import CommonSettings
from infra.topics import all_family_topics
from replay.canonical import dump
from replay.namespace import namespace
from replay.store import drop_namespace
from tests.integration.harness import ROOT, process_env


@contextmanager
def live_namespace(services: CommonSettings) -> Iterator[CommonSettings]:
    """A fresh database and topic prefix that play the live pipeline, removed after with
    the live worker's own topics, group and data."""
    with fresh_namespace(services, "cbtest") as settings:
        yield settings


def replay_env(live: CommonSettings, **extra: str) -> dict[str, str]:
    return process_env(live, CITYBRAIN_REPLAY_DIR=str(ROOT / ".local" / "test-replay"), **extra)


def replay_cli(live: CommonSettings, *args: str, timeout: float = 180, **env: str) -> Any:
    """``python -m replay ARGS`` against the live namespace ``live`` (``env``: more
    variables)."""
    return subprocess.run(
        [sys.executable, "-m", "replay", *args], cwd=ROOT, env=replay_env(live, **env),
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


def run_json(live: CommonSettings, *args: str) -> dict[str, Any]:
    """A replay that must succeed; its JSON summary."""
    done = replay_cli(live, "run", *args, "--json")
    assert done.returncode == 0, done.stderr[-4000:]
    return dict(orjson.loads(done.stdout.strip().splitlines()[-1]))


def forget(live: CommonSettings, *names: str) -> None:
    """Delete replays and whatever they left, even when a test failed half-way."""
    for name in names:
        replay_cli(live, "delete", name)
        drop_namespace(live, namespace(name))


def iso(ms: int) -> str:
    """An ISO 8601 time with milliseconds, exactly ``ms``."""
    moment = datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)
    return moment.isoformat(timespec="milliseconds")


def canonical(settings: CommonSettings, database: str) -> dict[str, list[tuple[Any, ...]]]:
    client = connect(settings, database="")
    try:
        return dump(client, database)
    finally:
        client.disconnect()


def databases(settings: CommonSettings) -> set[str]:
    client = connect(settings, database="")
    try:
        return {name for (name,) in client.execute("SELECT name FROM system.databases")}
    finally:
        client.disconnect()


def topics(settings: CommonSettings) -> set[str]:
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
    try:
        return set(admin.list_topics())
    finally:
        admin.close()


def end_offsets(settings: CommonSettings, prefix: str) -> dict[str, int]:
    """Messages ever written to each family topic of ``prefix`` (summed over partitions)."""
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, group_id=None,
                             allow_auto_create_topics=False)  # fmt: skip
    try:
        totals = {}
        for name in all_family_topics(prefix).values():
            parts = consumer.partitions_for_topic(name) or set()
            ends = consumer.end_offsets([TopicPartition(name, p) for p in parts])
            totals[name] = sum(ends.values())
        return totals
    finally:
        consumer.close()
