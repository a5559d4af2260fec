"""A replay's namespace on the services: create it (schema, reference data, topics), read
what the worker stored there, drop it with everything in it."""

from __future__ import annotations

from dataclasses import dataclass

from detectors.contract.alerts import AlertKind
from detectors.contract.tables import AREAS, SOURCE_PROFILES, SOURCES
from infra.clickhouse import connect, ensure_schema
from infra.kafka import ensure_topics
from infra.namespace import owned_topics as namespace_topics_on_broker
from infra.namespace import remove_namespace
from infra.settings import CommonSettings
from replay.namespace import Namespace

REFERENCE = (AREAS, SOURCES, SOURCE_PROFILES)
"""The reference tables a replay's worker reads, copied from the live database (FINAL)."""


def replay_settings(settings: CommonSettings, ns: Namespace) -> CommonSettings:
    """``settings`` pointed at the replay's database and topics (one partition each)."""
    return settings.model_copy(
        update={
            "clickhouse_database": ns.database,
            "kafka_topic_prefix": ns.topic_prefix,
            "kafka_partitions": 1,
        }
    )


def create_namespace(settings: CommonSettings, ns: Namespace) -> None:
    """The replay's database with every table and the live reference data, and its topics."""
    inside = replay_settings(settings, ns)
    ensure_schema(inside)
    client = connect(settings, database="")
    try:
        for table in REFERENCE:
            client.execute(
                f"INSERT INTO {table.qualified(ns.database)} ({table.column_list}) "
                f"SELECT {table.column_list} "
                f"FROM {table.qualified(settings.clickhouse_database)} FINAL"
            )
    finally:
        client.disconnect()
    ensure_topics(inside)


def owned_topics(settings: CommonSettings, ns: Namespace) -> list[str]:
    """Every topic on the broker that belongs to the replay."""
    return namespace_topics_on_broker(replay_settings(settings, ns))


def drop_namespace(settings: CommonSettings, ns: Namespace) -> list[str]:
    """Drop the replay's database, topics and consumer group; returns the topics deleted."""
    return remove_namespace(replay_settings(settings, ns))


@dataclass(frozen=True, slots=True)
class Stored:
    """What a replay's worker has stored (FINAL counts, or raw row counts for progress)."""

    raw: int
    cases: int
    dead: int
    rollup_city: int = 0

    @property
    def messages(self) -> int:
        """Messages accounted for: every one is a raw event, a case event or a dead letter."""
        return self.raw + self.cases + self.dead


def stored(settings: CommonSettings, database: str, final: bool) -> Stored:
    """Row counts of the replay's tables; ``final`` collapses re-delivered rows and adds the
    city-level roll-up total (each valid event counts once there)."""
    mod = "FINAL" if final else ""
    client = connect(settings, database="")
    try:
        counts = [
            int(client.execute(f"SELECT count() FROM {database}.{table} {mod}")[0][0])
            for table in ("events_raw", "cases_raw", "dead_letters")
        ]
        city = 0
        if final:
            city = int(client.execute(
                f"SELECT sum(cnt) FROM {database}.rollups_1m FINAL WHERE level = 'city'"
            )[0][0] or 0)  # fmt: skip
        raw, cases, dead = counts
        return Stored(raw, cases, dead, rollup_city=city)
    finally:
        client.disconnect()


def table_counts(settings: CommonSettings, database: str) -> dict[str, int]:
    """FINAL row counts of the tables a summary reports."""
    client = connect(settings, database="")
    try:
        counts = {
            table: int(client.execute(f"SELECT count() FROM {database}.{table} FINAL")[0][0])
            for table in ("events_raw", "cases_raw", "rollups_1m", "dead_letters", "alert_events")
        }
        counts["alerts_raised"] = int(client.execute(
            f"SELECT count() FROM {database}.alert_events FINAL WHERE kind = %(kind)s",
            {"kind": AlertKind.RAISED.value},
        )[0][0])  # fmt: skip
        return counts
    finally:
        client.disconnect()
