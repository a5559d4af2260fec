"""The schema runs on a current ClickHouse too (chdb embeds 26.9 in-process), with the
features detected from that server's own system tables."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest

from detectors.contract.table_spec import DIM
from detectors.contract.tables import ALERT_EVENTS, TABLES
from infra.clickhouse import ServerFeatures, detect_features, table_ddl
from streams import indicators

chdb_session = pytest.importorskip("chdb.session")


class ChdbClient:
    """The one method of a clickhouse-driver Client that detect_features uses."""

    def __init__(self) -> None:
        self.session = chdb_session.Session()

    def execute(self, sql: str) -> list[tuple[Any, ...]]:
        text = str(self.session.query(sql, "TabSeparated")).strip()
        return [tuple(int(v) if v.isdigit() else v for v in line.split("\t"))
                for line in text.splitlines()]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> ChdbClient:
    return ChdbClient()


def _database(server: ChdbClient, name: str) -> ServerFeatures:
    """A new database ``name`` holding every table, made with the server's features."""
    features = detect_features(server)  # type: ignore[arg-type]
    server.execute(f"DROP DATABASE IF EXISTS {name}")
    server.execute(f"CREATE DATABASE {name}")
    for statement in table_ddl(name, features, 30):
        server.execute(statement)
    return features


def test_new_server_reports_lowcardinality_and_ttl(server: ChdbClient) -> None:
    features = detect_features(server)  # type: ignore[arg-type]
    assert features.low_cardinality and features.ttl


def test_every_table_is_created_with_new_features(server: ChdbClient) -> None:
    _database(server, "cbnew")
    tables = {row[0] for row in server.execute(
        "SELECT name FROM system.tables WHERE database = 'cbnew'")}  # fmt: skip
    assert {"events_raw", "rollups_1m", "dead_letters", "alert_events", "areas"} <= tables
    ddl = server.execute("SELECT create_table_query FROM system.tables "
                         "WHERE database = 'cbnew' AND name = 'events_raw'")[0][0]  # fmt: skip
    assert "TTL" in ddl and "LowCardinality" in ddl


def test_every_table_has_its_specs_columns(server: ChdbClient) -> None:
    features = _database(server, "cbcols")
    found: dict[str, list[tuple[str, str]]] = {}
    for table, name, kind in server.execute(
        "SELECT table, name, type FROM system.columns WHERE database = 'cbcols' "
        "ORDER BY table, position"
    ):
        # TabSeparated escapes quotes: DateTime(\'UTC\')
        found.setdefault(str(table), []).append((str(name), str(kind).replace("\\'", "'")))
    assert found == {
        spec.name: [(c.name, features.dim() if c.type == DIM else c.type) for c in spec.columns]
        for spec in TABLES
    }


def test_a_table_made_before_gains_its_new_columns(server: ChdbClient) -> None:
    features = detect_features(server)  # type: ignore[arg-type]
    server.execute("DROP DATABASE IF EXISTS cbadd")
    server.execute("CREATE DATABASE cbadd")
    before = dataclasses.replace(ALERT_EVENTS, columns=ALERT_EVENTS.columns[:-1])
    server.execute(before.ddl("cbadd", features.dim(), None))
    added = ALERT_EVENTS.add_columns("cbadd", features.dim(), before.names)
    assert [column for column, _ in added] == ["created_ms"]
    for _, statement in added:
        server.execute(statement)
    names = server.execute("SELECT name FROM system.columns WHERE database = 'cbadd' "
                           "AND table = 'alert_events' ORDER BY position")  # fmt: skip
    assert [row[0] for row in names] == list(ALERT_EVENTS.names)


def _literal(value: Any) -> str:
    """A parameter as clickhouse-driver writes it into the SQL."""
    if isinstance(value, tuple):
        return "(" + ", ".join(_literal(v) for v in value) + ")"
    return f"'{value}'" if isinstance(value, str) else str(int(value))


def test_the_indicator_queries_run_on_a_new_server(server: ChdbClient) -> None:
    """The worker's indicator queries are only run on 18.16 by the integration tests."""
    _database(server, "cbind")
    end = int(time.time()) // 60 * 60  # recent: rows older than the TTL may go any time
    server.execute(
        "INSERT INTO cbind.events_raw (event_id, ts, ts_ms, family, source_id, metric, value, "
        f"grid) VALUES ('e1', {end - 30}, {(end - 30) * 1000}, 'traffic', 'TRF-1', 'speed', "
        "12.5, 'D1-S1-G01')"
    )
    server.execute(
        "INSERT INTO cbind.indicators_1m (level, code, indicator, window_start, score, "
        f"components, version) VALUES ('grid', 'D1-S1-G01', 'data', {end - 60}, NULL, '[]', 1)"
    )
    params = {"lo": end - 86_400, "end": end, "hi": end, "recent": end - 900, "hour": 3,
              "metrics": ("speed", "flow"), "actions": ("alert_action", "case_action")}  # fmt: skip
    server.execute("USE cbind")
    answers = {}
    for name in ("READINGS", "CASE_MESSAGES", "DEAD", "CASES", "EVALUATIONS", "ALERTS",
                 "GRID_MEANS", "SENSOR_MINUTES", "LAST_MINUTE", "MINUTE_ROWS"):  # fmt: skip
        sql = getattr(indicators, name)
        answers[name] = server.execute(sql % {k: _literal(v) for k, v in params.items()})
    assert answers["READINGS"] == [("TRF-1", (end - 30) * 1000, 1, (end - 30) * 1000)]
    assert answers["SENSOR_MINUTES"] == [("TRF-1", (end - 30) // 60, "speed", "12.5", "12.5")]
    assert answers["LAST_MINUTE"] == [(end - 60,)]
