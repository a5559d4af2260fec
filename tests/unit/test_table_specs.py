"""One spec per table: the DDL generated from the specs is the schema as it was written by
hand before (tests/unit/table_ddl_before.json, whitespace aside), and every INSERT lists
exactly its table's columns."""

from __future__ import annotations

import io
import json
import re
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from dashboard.audit import ClickHouseAuditLog
from dashboard.scope import Role
from dashboard.users import ClickHouseUserStore, User
from detectors.contract.audit import AccessEvent, AccessKind
from detectors.contract.table_spec import TableSpec, columns
from detectors.contract.tables import (
    ALERT_EVENTS,
    ALERTS_CURRENT,
    REPLAYS,
    STAGE_CHANGES,
    TABLES,
    USERS,
)
from infra.clickhouse import ServerFeatures, table_ddl
from replay.catalog import Catalog, ReplayRecord
from streams.sink import ClickHouseSink

ROOT = Path(__file__).resolve().parents[2]
BEFORE = json.loads((Path(__file__).with_name("table_ddl_before.json")).read_text())
SERVERS = {"18.16": ServerFeatures(False, False), "current": ServerFeatures(True, True)}
PRODUCT = ("streams", "sensors_sim", "replay", "dashboard", "infra", "detectors")


def tokens(sql: str) -> str:
    """SQL with its layout removed: the same tokens give the same string."""
    return re.sub(r"\s*([(),])\s*", r"\1", re.sub(r"\s+", " ", sql).strip())


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_generated_ddl_is_the_ddl_written_before(server: str) -> None:
    generated = {spec.name: tokens(sql) for spec, sql in
                 zip(TABLES, table_ddl("cb", SERVERS[server], 30), strict=True)}  # fmt: skip
    assert generated == BEFORE[server]


def test_ttl_and_lowcardinality_only_where_the_server_has_them() -> None:
    old = " ".join(table_ddl("cb", SERVERS["18.16"], 30))
    assert "TTL" not in old and "LowCardinality" not in old
    new = table_ddl("cb", SERVERS["current"], 7)
    assert [sql for sql in new if "TTL" in sql] == [new[3]]
    assert "TTL ts + INTERVAL 7 DAY" in new[3] and "family LowCardinality(String)" in new[3]


def insert_columns(sql: str) -> tuple[str, tuple[str, ...]]:
    match = re.fullmatch(r"INSERT INTO (?:\w+\.)?(\w+) \(([^)]*)\) VALUES", sql)
    assert match is not None, sql
    return match.group(1), tuple(c.strip() for c in match.group(2).split(","))


@pytest.mark.parametrize("spec", TABLES, ids=lambda spec: spec.name)
def test_each_insert_lists_its_tables_columns(spec: TableSpec) -> None:
    assert insert_columns(spec.insert_sql("cb")) == (spec.name, spec.names)
    assert insert_columns(spec.insert_sql()) == (spec.name, spec.names)


class RecordingClient:
    """Keeps every statement a writer sends; answers every query with no rows."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, Any]] = []

    def execute(self, sql: str, params: Any = None, **_: Any) -> list[tuple[Any, ...]]:
        self.sent.append((sql, params))
        return []

    def disconnect(self) -> None:
        pass


def test_writers_insert_whole_rows_of_their_table() -> None:
    client = RecordingClient()
    sink = ClickHouseSink(lambda: client)
    for write in (sink.write_raw, sink.write_cases, sink.write_dead_letters, sink.write_rollups):
        write([("row",)])
    for spec in (ALERT_EVENTS, ALERTS_CURRENT, STAGE_CHANGES):
        sink.insert(spec, [("row",)])
    ClickHouseUserStore(lambda: client).put(User("ana", "hash", Role.ENGINEER, "", False, 5))
    Catalog(lambda: client, "cb").write(record())
    entry = AccessEvent("e-1", 5000, AccessKind.LOGIN, "ana", "ana", "10.0.0.7", "engineer", "", "")
    ClickHouseAuditLog(lambda: client).record(entry)
    inserts = [insert_columns(sql) for sql, _ in client.sent if sql.startswith("INSERT")]
    specs = {spec.name: spec.names for spec in TABLES}
    assert [table for table, _ in inserts] == [
        "events_raw", "cases_raw", "dead_letters", "rollups_1m",
        "alert_events", "alerts_current", "stage_changes", "users", "replays", "auth_events",
    ]  # fmt: skip
    assert all(names == specs[table] for table, names in inserts)
    [user_row] = next(rows for sql, rows in client.sent if sql.startswith("INSERT INTO users"))
    assert dict(zip(USERS.names, user_row, strict=True)) == {
        "username": "ana", "password_hash": "hash", "role": "engineer", "district": "",
        "disabled": 0, "updated_at": 5, "department": "",
    }  # fmt: skip


def record() -> ReplayRecord:
    return ReplayRecord("r1", "running", "live", 0, 1, [], [], "max", "", "", 0, 0,
                        "cb_r1", "r1-", 5, None, 0, "", 1)  # fmt: skip


def test_replay_record_fields_are_the_replays_columns() -> None:
    assert tuple(f.name for f in fields(ReplayRecord)) == REPLAYS.names


def test_no_insert_is_written_outside_the_specs() -> None:
    """Every INSERT comes from a spec's insert_sql (tables.py only shows one in its doctest),
    or, for the replay's copy of the reference tables, from its column_list."""
    writers = {
        str(path.relative_to(ROOT))
        for package in PRODUCT
        for path in (ROOT / package).rglob("*.py")
        if "INSERT INTO" in path.read_text()
    }
    specs = {"detectors/contract/table_spec.py", "detectors/contract/tables.py"}
    assert writers == specs | {"replay/store.py"}


def test_select_lists_are_checked_against_the_table() -> None:
    assert STAGE_CHANGES.select_without("ts", "reason") == "level, code, ts_ms, stage, previous"
    with pytest.raises(KeyError, match="stage_changes has no column colour"):
        STAGE_CHANGES.select_list("level", "colour")


def test_columns_refuse_text_that_is_not_a_column_list() -> None:
    assert columns("a Nullable(DateTime('UTC')), b dimension")[0].type == (
        "Nullable(DateTime('UTC'))"
    )
    with pytest.raises(ValueError, match="not a column"):
        columns("price Decimal(10, 2)")


def test_an_audit_entry_clickhouse_refuses_goes_to_the_log_instead() -> None:
    class Refusing(RecordingClient):
        def execute(self, sql: str, params: Any = None, **_: Any) -> list[tuple[Any, ...]]:
            raise OSError("Connection refused")

    err = io.StringIO()
    entry = AccessEvent("e-9", 5000, AccessKind.LOGOUT, "ana", "ana", "", "", "", "")
    ClickHouseAuditLog(lambda: Refusing(), err).record(entry)
    assert "audit not stored" in err.getvalue() and "e-9" in err.getvalue()
