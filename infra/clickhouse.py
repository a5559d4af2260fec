"""The ClickHouse schema and connection: one place that knows the tables.

The SQL runs on Debian's 18.16 server and on a current ClickHouse. Features only a new
server has (LowCardinality without an experimental flag, TTL) are used only where the
server's system tables report them. Every table that the stream writes is a
ReplacingMergeTree keyed so that a re-delivered message replaces its own row: queries read
them with FINAL (or argMax) and see each event once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass

from clickhouse_driver import Client

from infra.settings import CommonSettings, SettingsError, load


@dataclass(frozen=True)
class ServerFeatures:
    """What the connected server can do, read from its system tables."""

    low_cardinality: bool
    ttl: bool

    def dim(self) -> str:
        """The column type for a low-cardinality dimension (family, metric, codes)."""
        return "LowCardinality(String)" if self.low_cardinality else "String"


def connect(settings: CommonSettings, database: str | None = None, **kwargs: object) -> Client:
    """A client for the configured server; ``database=''`` connects without one."""
    options: dict[str, object] = {"connect_timeout": 5, "send_receive_timeout": 60, **kwargs}
    return Client(
        host=settings.clickhouse_host,
        port=settings.clickhouse_port,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password.get_secret_value(),
        database=settings.clickhouse_database if database is None else database,
        **options,
    )


def detect_features(client: Client) -> ServerFeatures:
    """Ask the server what it supports (never parse the version string)."""
    lc_type = client.execute(
        "SELECT count() FROM system.data_type_families WHERE name = 'LowCardinality'"
    )[0][0]
    lc_experimental = client.execute(
        "SELECT count() FROM system.settings WHERE name = 'allow_experimental_low_cardinality_type'"
    )[0][0]
    ttl = client.execute(
        "SELECT count() FROM system.merge_tree_settings WHERE name = 'ttl_only_drop_parts'"
    )[0][0]
    return ServerFeatures(low_cardinality=bool(lc_type) and not lc_experimental, ttl=bool(ttl))


def table_ddl(database: str, features: ServerFeatures, retention_days: int) -> list[str]:
    """CREATE statements for every table, in dependency order."""
    d = features.dim()
    db = database
    raw_ttl = f"TTL ts + INTERVAL {int(retention_days)} DAY" if features.ttl else ""
    return [
        f"""CREATE TABLE IF NOT EXISTS {db}.areas (
            level {d}, code String, parent String, city String, district String,
            street String, name String, name_zh String, ring String,
            lon Float64, lat Float64, updated_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY (level, code)""",
        f"""CREATE TABLE IF NOT EXISTS {db}.sources (
            source_id String, family {d}, kind {d}, metrics Array(String),
            city String, district String, street String, grid String,
            lon Float64, lat Float64, cadence_s UInt32, updated_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY source_id""",
        # What detectors need to know of a source beyond the registry: its neighbour group
        # ('' = its street) and reference limits as JSON (a river gauge's warning levels).
        f"""CREATE TABLE IF NOT EXISTS {db}.source_profiles (
            source_id String, group_name String, limits String, updated_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY source_id""",
        f"""CREATE TABLE IF NOT EXISTS {db}.events_raw (
            event_id String, ts DateTime('UTC'), ts_ms UInt64, family {d},
            source_id String, metric {d}, value Float64,
            city {d}, district {d}, street String, grid String,
            ingested_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree()
        PARTITION BY toYYYYMMDD(ts) ORDER BY (family, source_id, metric, ts, event_id)
        {raw_ttl}""",
        f"""CREATE TABLE IF NOT EXISTS {db}.cases_raw (
            event_id String, ts DateTime('UTC'), ts_ms UInt64, case_id String,
            category {d}, status {d}, source_id String,
            city {d}, district {d}, street String, grid String,
            lon Float64, lat Float64, text String, photo_ref String,
            ingested_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree()
        PARTITION BY toYYYYMM(ts) ORDER BY (case_id, ts, event_id)""",
        # One row per (area, metric, minute, source partition), carrying the cumulative
        # aggregate of that partition's events up to Kafka offset `version`. A re-delivered
        # message yields the same or a higher version of the same row, never a second one.
        f"""CREATE TABLE IF NOT EXISTS {db}.rollups_1m (
            level {d}, key String, metric {d}, family {d},
            window_start DateTime('UTC'), src_topic {d}, src_partition UInt16,
            cnt UInt64, sum Float64, min Float64, max Float64, version UInt64
        ) ENGINE = ReplacingMergeTree(version)
        PARTITION BY toYYYYMMDD(window_start)
        ORDER BY (level, key, metric, window_start, src_topic, src_partition)""",
        # Every alert and incident state change, and every operator action: the audit trail.
        # level_rank: 1 = IV blue .. 4 = I red (0 for events without a level).
        f"""CREATE TABLE IF NOT EXISTS {db}.alert_events (
            event_id String, ts DateTime('UTC'), ts_ms UInt64, kind {d},
            alert_id String, incident_id String, key String, category {d},
            level {d}, level_rank UInt8, tier {d}, notify UInt8, reason String,
            city {d}, district {d}, street String, grid String, scope {d},
            evidence String, actor String, comment String
        ) ENGINE = ReplacingMergeTree()
        PARTITION BY toYYYYMM(ts) ORDER BY (ts, event_id)""",
        # The current state of each alert and incident (subject = 'alert' | 'incident'):
        # one row per change, the highest version wins.
        f"""CREATE TABLE IF NOT EXISTS {db}.alerts_current (
            alert_id String, subject {d}, incident_id String, key String, category {d},
            level {d}, level_rank UInt8, tier {d}, status {d},
            opened_ms UInt64, updated_ms UInt64, version UInt64,
            acknowledged_by String, assignee String, notify UInt8, reason String,
            city {d}, district {d}, street String, grid String, scope {d},
            source_id String, metric {d}, evidence String
        ) ENGINE = ReplacingMergeTree(version) ORDER BY alert_id""",
        # Operational stage (1..5) of each area, one row per change.
        f"""CREATE TABLE IF NOT EXISTS {db}.stage_changes (
            level {d}, code String, ts DateTime('UTC'), ts_ms UInt64,
            stage UInt8, previous UInt8, reason String
        ) ENGINE = ReplacingMergeTree()
        PARTITION BY toYYYYMM(ts) ORDER BY (level, code, ts_ms)""",
        f"""CREATE TABLE IF NOT EXISTS {db}.dead_letters (
            src_topic {d}, src_partition UInt16, src_offset UInt64,
            kafka_ts DateTime('UTC'), family {d}, reason {d}, detail String,
            raw String, worker String
        ) ENGINE = ReplacingMergeTree()
        PARTITION BY toYYYYMM(kafka_ts) ORDER BY (src_topic, src_partition, src_offset)""",
        # Replays of this (live) namespace, written by citybrain-replay: one row per change of
        # a replay's status, the highest version wins. from_ms/to_ms: the replayed range.
        f"""CREATE TABLE IF NOT EXISTS {db}.replays (
            name String, status String, source String, from_ms UInt64, to_ms UInt64,
            districts Array(String), families Array(String), speed String,
            config_file String, detector_config String, events UInt64, bytes UInt64,
            database String, topic_prefix String, created_at DateTime('UTC'),
            finished_at Nullable(DateTime('UTC')), worker_pid UInt32, message String,
            version UInt64
        ) ENGINE = ReplacingMergeTree(version) ORDER BY name""",
        # Command-center users (dashboard/users.py): one row per change, the newest wins.
        # The password is only ever stored as a salted hash.
        f"""CREATE TABLE IF NOT EXISTS {db}.users (
            username String, password_hash String, role {d}, district String,
            disabled UInt8, updated_at DateTime('UTC')
        ) ENGINE = ReplacingMergeTree(updated_at) ORDER BY username""",
    ]


def ensure_schema(settings: CommonSettings, database: str | None = None) -> ServerFeatures:
    """Create the database and every table if missing; idempotent."""
    db = database or settings.clickhouse_database
    client = connect(settings, database="")
    try:
        features = detect_features(client)
        client.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        for statement in table_ddl(db, features, settings.raw_retention_days):
            client.execute(statement)
        return features
    finally:
        client.disconnect()


def drop_database(settings: CommonSettings, database: str) -> None:
    """Drop a database with everything in it (tests and replays)."""
    client = connect(settings, database="")
    try:
        client.execute(f"DROP DATABASE IF EXISTS {database}")
    finally:
        client.disconnect()


def main(argv: list[str] | None = None) -> int:
    """``citybrain-schema``: create the schema on the configured server."""
    parser = argparse.ArgumentParser(prog="citybrain-schema", description=main.__doc__)
    parser.add_argument("--database", help="database name (default CITYBRAIN_CLICKHOUSE_DATABASE)")
    args = parser.parse_args(argv)
    try:
        settings = load(CommonSettings)
    except SettingsError as exc:
        print(f"citybrain-schema: {exc}", file=sys.stderr)
        return 2
    features = ensure_schema(settings, args.database)
    print(f"schema ready in {args.database or settings.clickhouse_database} ({features})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
