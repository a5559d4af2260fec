"""The schema on the running server (Debian's 18.16 here): every table has its spec's
columns and keys, with the features the server reports."""

from __future__ import annotations

from detectors.contract.table_spec import DIM
from detectors.contract.tables import TABLES
from infra.clickhouse import connect, detect_features
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
