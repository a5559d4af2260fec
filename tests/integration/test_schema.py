"""The schema on the running server (Debian's 18.16 here): every table has its spec's
columns and keys, with the features the server reports; a table made before a column was
added to its spec gains it, keeping its rows."""

from __future__ import annotations

import dataclasses

from detectors.contract.table_spec import DIM
from detectors.contract.tables import ALERT_EVENTS, ALERTS_CURRENT, EVENTS_RAW, TABLES
from infra.clickhouse import connect, detect_features, ensure_schema, table_columns
from infra.settings import CommonSettings


def test_every_table_is_its_spec(isolated: CommonSettings) -> None:
    client = connect(isolated)
    try:
        features = detect_features(client)
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, name, kind in client.execute(
            "SELECT table, name, type FROM system.columns WHERE database = %(db)s",
            {"db": isolated.clickhouse_database},
        ):
            columns.setdefault(table, []).append((name, kind))
        keys = {table: (sorting, partition) for table, sorting, partition in client.execute(
            "SELECT name, sorting_key, partition_key FROM system.tables WHERE database = %(db)s",
            {"db": isolated.clickhouse_database},
        )}  # fmt: skip
    finally:
        client.disconnect()
    assert columns == {
        spec.name: [(c.name, features.dim() if c.type == DIM else c.type) for c in spec.columns]
        for spec in TABLES
    }
    assert keys == {spec.name: (spec.order_by.strip("()"), spec.partition_by) for spec in TABLES}


def test_a_table_made_before_gains_the_new_columns_and_keeps_its_rows(
    isolated: CommonSettings,
) -> None:
    db = isolated.clickhouse_database
    client = connect(isolated)
    try:
        features = detect_features(client)
        for spec in (ALERT_EVENTS, ALERTS_CURRENT, EVENTS_RAW):  # before created/ingested_ms
            client.execute(f"DROP TABLE {db}.{spec.name}")
            before = dataclasses.replace(spec, columns=spec.columns[:-1])
            client.execute(before.ddl(db, features.dim(), None))
        old = dataclasses.replace(ALERT_EVENTS, columns=ALERT_EVENTS.columns[:-1])
        client.execute(f"INSERT INTO {db}.alert_events (event_id, ts, ts_ms) VALUES",
                       [("ev-old", 1_700_000_000, 1_700_000_000_250)])  # fmt: skip
        assert "created_ms" not in table_columns(client, db)["alert_events"]
        assert old.names == ALERT_EVENTS.names[:-1]

        ensure_schema(isolated)
        ensure_schema(isolated)  # again: nothing left to add, no error

        names: dict[str, list[str]] = {}
        for table, name in client.execute(  # in table order, as the first test reads them
            "SELECT table, name FROM system.columns WHERE database = %(db)s", {"db": db}
        ):
            names.setdefault(table, []).append(name)
        assert names["alert_events"] == list(ALERT_EVENTS.names)
        assert names["alerts_current"] == list(ALERTS_CURRENT.names)
        assert names["events_raw"] == list(EVENTS_RAW.names)
        assert client.execute(f"SELECT event_id, ts_ms, created_ms FROM {db}.alert_events") == [
            ("ev-old", 1_700_000_000_250, 0)
        ]
    finally:
        client.disconnect()
