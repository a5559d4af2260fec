"""One spec per ClickHouse table: the columns, engine and keys that every writer and reader
shares, and the row builders; the DDL is generated from them (infra.clickhouse decides which
server features to use).

>>> STAGE_CHANGES.insert_sql("cb")
'INSERT INTO cb.stage_changes (level, code, ts, ts_ms, stage, previous, reason) VALUES'
>>> USERS.select_list("username", "role")
'username, role'
"""

from __future__ import annotations

from typing import Any

from detectors.contract.catalog import CatalogEntry, Department, Promise, Subject
from detectors.contract.events import Source
from detectors.contract.indicators import Score, components_json
from detectors.contract.table_spec import TableSpec, columns

LOCATION = "city dimension, district dimension, street String, grid String"
"""The place codes every located row carries (street and grid have too many values to be
dimensions)."""


def _replacing(version: str = "") -> str:
    # A re-delivered row replaces its own copy: readers use FINAL (or argMax).
    return f"ReplacingMergeTree({version})"


AREAS = TableSpec(
    "areas",
    columns("""level dimension, code String, parent String, city String, district String,
        street String, name String, name_zh String, ring String,
        lon Float64, lat Float64, updated_at DateTime('UTC')"""),
    _replacing("updated_at"),
    "(level, code)",
    comment="The place hierarchy: each area carries the codes of its ancestors and its ring.",
)
SOURCES = TableSpec(
    "sources",
    columns("""source_id String, family dimension, kind dimension, metrics Array(String),
        city String, district String, street String, grid String,
        lon Float64, lat Float64, cadence_s UInt32, updated_at DateTime('UTC')"""),
    _replacing("updated_at"),
    "source_id",
    comment="The registry of sensors and reporting channels the worker accepts events from.",
)
SOURCE_PROFILES = TableSpec(
    "source_profiles",
    columns("source_id String, group_name String, limits String, updated_at DateTime('UTC')"),
    _replacing("updated_at"),
    "source_id",
    comment="What detectors need to know of a source beyond the registry: its neighbour "
    "group ('' = its street) and reference limits as JSON (a river gauge's warning levels).",
)
EVENTS_RAW = TableSpec(
    "events_raw",
    columns(f"""event_id String, ts DateTime('UTC'), ts_ms UInt64, family dimension,
        source_id String, metric dimension, value Float64, {LOCATION},
        ingested_at DateTime('UTC'), ingested_ms UInt64"""),
    _replacing(),
    "(family, source_id, metric, ts, event_id)",
    partition_by="toYYYYMMDD(ts)",
    ttl_on="ts",
    comment="Every valid sensor reading, keyed by its event id. ingested_ms: when the worker "
    "stored it (wall clock; 0 in rows from before it was kept), so ts_ms to ingested_ms is "
    "the event-to-storage latency; ingested_at is the same instant in seconds.",
)
CASES_RAW = TableSpec(
    "cases_raw",
    columns(f"""event_id String, ts DateTime('UTC'), ts_ms UInt64, case_id String,
        category dimension, status dimension, source_id String, {LOCATION},
        lon Float64, lat Float64, text String, photo_ref String,
        ingested_at DateTime('UTC'), ingested_ms UInt64"""),
    _replacing(),
    "(case_id, ts, event_id)",
    partition_by="toYYYYMM(ts)",
    comment="Every valid case report and case status change, keyed by its event id. "
    "ingested_ms: when the worker stored it (wall clock; 0 in rows from before it was kept).",
)
ROLLUPS_1M = TableSpec(
    "rollups_1m",
    columns("""level dimension, key String, metric dimension, family dimension,
        window_start DateTime('UTC'), src_topic dimension, src_partition UInt16,
        cnt UInt64, sum Float64, min Float64, max Float64, version UInt64"""),
    _replacing("version"),
    "(level, key, metric, window_start, src_topic, src_partition)",
    partition_by="toYYYYMMDD(window_start)",
    comment="One row per (area, metric, minute, source partition), carrying the cumulative "
    "aggregate of that partition's events up to Kafka offset `version`: a re-delivered "
    "message yields the same or a higher version of the same row, never a second one.",
)
ALERT_EVENTS = TableSpec(
    "alert_events",
    columns(f"""event_id String, ts DateTime('UTC'), ts_ms UInt64, kind dimension,
        alert_id String, incident_id String, key String, category dimension,
        level dimension, level_rank UInt8, tier dimension, notify UInt8, reason String,
        {LOCATION}, scope dimension, evidence String, actor String, comment String,
        created_ms UInt64"""),
    _replacing(),
    "(ts, event_id)",
    partition_by="toYYYYMM(ts)",
    comment="Every alert and incident state change, and every operator action: the audit "
    "trail. level_rank: 1 = IV blue .. 4 = I red (0 for events without a level). "
    "created_ms: when the worker made the row (wall clock; 0 in rows from before it was "
    "kept), so ts_ms to created_ms is the event-to-alert latency.",
)
ALERTS_CURRENT = TableSpec(
    "alerts_current",
    columns(f"""alert_id String, subject dimension, incident_id String, key String,
        category dimension, level dimension, level_rank UInt8, tier dimension,
        status dimension, opened_ms UInt64, updated_ms UInt64, version UInt64,
        acknowledged_by String, assignee String, notify UInt8, reason String,
        {LOCATION}, scope dimension, source_id String, metric dimension, evidence String,
        created_ms UInt64"""),
    _replacing("version"),
    "alert_id",
    comment="The current state of each alert and incident (subject = 'alert' | "
    "'incident'): one row per change, the highest version wins. created_ms: when the "
    "worker made the row (wall clock; 0 in rows from before it was kept).",
)
STAGE_CHANGES = TableSpec(
    "stage_changes",
    columns("""level dimension, code String, ts DateTime('UTC'), ts_ms UInt64,
        stage UInt8, previous UInt8, reason String"""),
    _replacing(),
    "(level, code, ts_ms)",
    partition_by="toYYYYMM(ts)",
    comment="Operational stage (1..5) of each area, one row per change.",
)
DEAD_LETTERS = TableSpec(
    "dead_letters",
    columns("""src_topic dimension, src_partition UInt16, src_offset UInt64,
        kafka_ts DateTime('UTC'), family dimension, reason dimension, detail String,
        raw String, worker String"""),
    _replacing(),
    "(src_topic, src_partition, src_offset)",
    partition_by="toYYYYMM(kafka_ts)",
    comment="Messages the worker refused, with their original bytes, keyed by Kafka offset.",
)
REPLAYS = TableSpec(
    "replays",
    columns("""name String, status String, source String, from_ms UInt64, to_ms UInt64,
        districts Array(String), families Array(String), speed String,
        config_file String, detector_config String, events UInt64, bytes UInt64,
        database String, topic_prefix String, created_at DateTime('UTC'),
        finished_at Nullable(DateTime('UTC')), worker_pid UInt32, message String,
        version UInt64"""),
    _replacing("version"),
    "name",
    comment="Replays of this (live) namespace, written by citybrain-replay: one row per "
    "change of a replay's status, the highest version wins. from_ms/to_ms: the range.",
)
USERS = TableSpec(
    "users",
    columns("""username String, password_hash String, role dimension, district String,
        disabled UInt8, updated_at DateTime('UTC'), department String"""),
    _replacing("updated_at"),
    "username",
    comment="Command-center users: one row per change, the newest wins. The password is "
    "only ever stored as a salted hash. department: the code of the user's department "
    "(departments table; '' = none, the command center).",
)

AUTH_EVENTS = TableSpec(
    "auth_events",
    columns("""event_id String, ts DateTime('UTC'), ts_ms UInt64, kind dimension,
        username String, actor String, address String, role dimension, district String,
        detail String"""),
    _replacing(),
    "(ts, event_id)",
    partition_by="toYYYYMM(ts)",
    comment="The access audit (detectors.contract.audit): logins, failed and refused "
    "logins, logouts, refused requests and user changes, written by the dashboard and its "
    "users CLI.",
)

SILENCES = TableSpec(
    "silences",
    columns("""silence_id String, version UInt64, status dimension, ts DateTime('UTC'),
        ts_ms UInt64, scope dimension, value String, family dimension, metric dimension,
        district dimension, start_ms UInt64, end_ms UInt64, reason String, author String,
        created_ms UInt64, action_id String, actor String, role dimension, comment String"""),
    _replacing(),
    "(silence_id, version)",
    comment="Silences and maintenance windows (detectors.contract.silences), written by the "
    "worker: one row per change (created, expired, deleted; actor '' when its end passed), "
    "each carrying the whole silence after it: the audit trail, and the current state is "
    "the highest version of a silence_id. start_ms/end_ms: the window.",
)

DRILLS = TableSpec(
    "drills",
    columns(f"""drill_id String, number UInt32, kind dimension, title String,
        title_zh String, area_code String, area_name String, area_name_zh String,
        {LOCATION}, start DateTime('UTC'), start_ms UInt64, end_ms UInt64,
        sources Array(String), metrics Array(String), updated_at DateTime('UTC')"""),
    _replacing("updated_at"),
    "drill_id",
    comment="Demo drills the simulator plays on live sensors (citybrain-sim run --demo): "
    "what, where (a street, or a grid cell for a case surge), when and on which metrics, "
    "so that every page "
    "can say that the incident it shows is a drill.",
)

CASE_STEPS = TableSpec(
    "case_steps",
    columns(f"""event_id String, ts DateTime('UTC'), ts_ms UInt64, case_id String,
        action dimension, status dimension, previous dimension, department dimension,
        score UInt8, actor String, role dimension, comment String, action_id String,
        {LOCATION}"""),
    _replacing(),
    "(case_id, ts, event_id)",
    partition_by="toYYYYMM(ts)",
    comment="Every operator action applied to a case (detectors.contract.cases), written by "
    "the worker: who did what (actor, role, comment), the status before and after, the "
    "department dispatched to and the evaluation's score (0 = none). The same step is also "
    "a row of cases_raw (same event_id), so the lifecycle reads stay one table.",
)

DEPARTMENTS = TableSpec(
    "departments",
    columns("""code String, name String, name_zh String, contact String, author String,
        changed_ms UInt64, version UInt64"""),
    _replacing("changed_ms"),
    "(code, version)",
    comment="City departments (detectors.contract.catalog): one row per version, the "
    "highest version of a code is in force. The reference data writes version 0, so any "
    "edit by citybrain-catalog wins over it.",
)

CATALOG = TableSpec(
    "catalog",
    columns("""subject dimension, key String, family dimension, department String,
        schema_version UInt16, cadence_s UInt32, freshness_s UInt32, completeness_pct Float64,
        allowance_s UInt32, topics Array(String), tables Array(String), views Array(String),
        author String, changed_ms UInt64, version UInt64, shared_with Array(String)"""),
    _replacing("changed_ms"),
    "(subject, key, version)",
    comment="The data catalog (detectors.contract.catalog): one row per version of a "
    "family's or a source's entry (subject 'family' | 'source'), with its author; the "
    "highest version of a (subject, key) is in force, the others are its history. The "
    "reference data writes version 0; citybrain-catalog writes the change time in ms. "
    "shared_with: the departments other than the owner that use the source.",
)

INDICATORS_1M = TableSpec(
    "indicators_1m",
    columns("""level dimension, code String, indicator dimension,
        window_start DateTime('UTC'), score Nullable(Float64), components String,
        version UInt64"""),
    _replacing("version"),
    "(level, code, indicator, window_start)",
    partition_by="toYYYYMM(window_start)",
    comment="The five indicators (detectors.contract.indicators) of every area per minute, "
    "written by the worker: score 0-100 (NULL = nothing to judge) and its components as "
    "JSON [[name, value, unit, score, weight], ...]; a recomputed minute replaces its row "
    "(the highest version wins).",
)

INDICATORS_1H = TableSpec(
    "indicators_1h",
    INDICATORS_1M.columns,
    _replacing("version"),
    "(level, code, indicator, window_start)",
    partition_by="toYYYYMM(window_start)",
    comment="The five indicators of every area per hour (same shape as indicators_1m), "
    "written by the worker when the hour closes: the series of the 30-day trends.",
)

TABLES = (
    AREAS, SOURCES, SOURCE_PROFILES, EVENTS_RAW, CASES_RAW, ROLLUPS_1M,
    ALERT_EVENTS, ALERTS_CURRENT, STAGE_CHANGES, DEAD_LETTERS, REPLAYS, USERS, AUTH_EVENTS,
    SILENCES, DRILLS, CASE_STEPS, DEPARTMENTS, CATALOG, INDICATORS_1M, INDICATORS_1H,
)  # fmt: skip
"""Every table, in the order they are created."""


def source_row(source: Source, updated_at: int) -> tuple[object, ...]:
    """A row of ``sources`` (metrics sorted, so the same source writes the same row)."""
    where = source.location
    return (
        source.source_id, source.family.value, source.kind, sorted(source.metrics),
        where.city, where.district, where.street, where.grid,
        source.lon, source.lat, source.cadence_s, updated_at,
    )  # fmt: skip


CATALOG_HISTORY = f"""
SELECT {CATALOG.column_list}
FROM catalog FINAL
ORDER BY subject, key, version
"""
"""Every version of every catalog entry, oldest first per entry (rows for catalog_entry)."""

DEPARTMENT_HISTORY = f"""
SELECT {DEPARTMENTS.select_list("code", "name", "name_zh", "contact")}
FROM departments FINAL
ORDER BY code, version
"""
"""Every version of every department, oldest first (rows for department_of): the last row
of a code is the one in force."""


def department_row(
    department: Department, author: str, changed_ms: int, version: int
) -> tuple[object, ...]:
    """A row of ``departments``."""
    d = department
    return (d.code, d.name, d.name_zh, d.contact, author, changed_ms, version)


def department_of(*row: Any) -> Department:
    """A department from a row of DEPARTMENT_HISTORY."""
    code, name, name_zh, contact = (str(value) for value in row)
    return Department(code, name, name_zh, contact)


def catalog_row(entry: CatalogEntry) -> tuple[object, ...]:
    """A row of ``catalog``."""
    e, p = entry, entry.promise
    return (
        e.subject.value, e.key, e.family, e.department, e.schema_version, e.cadence_s,
        p.freshness_s, p.completeness_pct, p.allowance_s, list(e.topics), list(e.tables),
        list(e.views), e.author, e.changed_ms, e.version, list(e.shared_with),
    )  # fmt: skip


def catalog_entry(*row: Any) -> CatalogEntry:
    """A catalog entry from a whole row of ``catalog`` (the inverse of catalog_row)."""
    (subject, key, family, department, schema, cadence, fresh, complete, allowance, topics,
     tables, views, author, changed_ms, version, shared_with) = row  # fmt: skip
    return CatalogEntry(
        Subject(str(subject)), str(key), str(family), str(department), int(schema),
        int(cadence), Promise(int(fresh), float(complete), int(allowance)),
        tuple(map(str, topics)), tuple(map(str, tables)), tuple(map(str, views)),
        str(author), int(changed_ms), int(version), tuple(map(str, shared_with)),
    )  # fmt: skip


def indicator_row(score: Score, version: int) -> tuple[object, ...]:
    """A row of ``indicators_1m`` or ``indicators_1h`` (window_start as epoch seconds)."""
    return (
        score.level.value, score.code, score.indicator.value, score.window_start_ms // 1000,
        score.score, components_json(score.components), version,
    )  # fmt: skip
