"""The schema on a cluster: replicated engines and Distributed read tables, while the one-
server DDL stays as it was (tests/unit/test_table_specs.py holds its golden text)."""

from __future__ import annotations

from detectors.contract.table_spec import TableSpec, columns
from detectors.contract.tables import TABLES
from infra.clickhouse import ServerFeatures, replica_hosts, table_ddl
from infra.settings import CommonSettings, load

OLD = ServerFeatures(low_cardinality=False, ttl=False)


def test_one_server_ddl_has_no_replication() -> None:
    ddl = table_ddl("cb", OLD, 30)
    assert len(ddl) == len(TABLES)
    assert not any("Replicated" in s or "Distributed" in s for s in ddl)


def test_a_cluster_gets_a_replicated_table_and_a_distributed_one_per_spec() -> None:
    ddl = table_ddl("cb", OLD, 30, cluster="city")
    assert len(ddl) == 2 * len(TABLES)
    local, dist = ddl[: len(TABLES)], ddl[len(TABLES) :]
    for spec, statement in zip(TABLES, local, strict=True):
        assert f"ENGINE = Replicated{spec.engine.split('(')[0]}(" in statement
        assert f"'/clickhouse/tables/cb/{spec.name}', '{{replica}}'" in statement
    assert dist[0] == (
        f"CREATE TABLE IF NOT EXISTS cb.{TABLES[0].name}_dist AS cb.{TABLES[0].name} "
        f"ENGINE = Distributed(city, cb, {TABLES[0].name})"
    )


def test_engine_arguments_follow_the_replication_ones() -> None:
    spec = TableSpec("t", columns("a String, v UInt64"), "ReplacingMergeTree(v)", "a")
    assert spec.replicated("d").engine == (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/d/t', '{replica}', v)"
    )
    empty = TableSpec("t", columns("a String"), "MergeTree()", "a")
    assert (
        empty.replicated("d").engine == "ReplicatedMergeTree('/clickhouse/tables/d/t', '{replica}')"
    )
    log = TableSpec("t", columns("a String"), "Log", "")
    assert log.replicated("d") is log


def test_replica_hosts_lists_the_server_then_its_alternatives() -> None:
    settings = load(CommonSettings, clickhouse_host="h1", clickhouse_port=9000,
                    clickhouse_alt_hosts="h2:9001,h3:9002")  # fmt: skip
    assert replica_hosts(settings) == [("h1", 9000), ("h2", 9001), ("h3", 9002)]
