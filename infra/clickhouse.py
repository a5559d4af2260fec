"""The ClickHouse schema and connection: the tables of detectors.contract.tables, created
with the features the connected server has.

The SQL runs on Debian's 18.16 server and on a current ClickHouse. Features only a new
server has (LowCardinality without an experimental flag, TTL) are used only where the
server's system tables report them. Every table that the stream writes is a
ReplacingMergeTree keyed so that a re-delivered message replaces its own row: queries read
them with FINAL (or argMax) and see each event once.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, replace

from clickhouse_driver import Client
from clickhouse_driver.errors import NetworkError, ServerException, SocketTimeoutError

from detectors.contract.table_spec import DIST_SUFFIX
from detectors.contract.tables import TABLES
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
    options: dict[str, object] = {
        "host": settings.clickhouse_host,
        "port": settings.clickhouse_port,
        "connect_timeout": 5,
        "send_receive_timeout": 60,
        **kwargs,
    }
    if settings.clickhouse_alt_hosts:  # a replica down: the next connect tries the others
        options.setdefault("alt_hosts", settings.clickhouse_alt_hosts)
    return Client(
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


def table_ddl(
    database: str, features: ServerFeatures, retention_days: int, cluster: str = ""
) -> list[str]:
    """CREATE statements for every table, in dependency order; on a ``cluster``, run on each
    replica: replicated tables, then a Distributed ``<table>_dist`` over each."""
    ttl_days = int(retention_days) if features.ttl else None
    if not cluster:
        return [spec.ddl(database, features.dim(), ttl_days) for spec in TABLES]
    return [
        spec.replicated(database).ddl(database, features.dim(), ttl_days) for spec in TABLES
    ] + [spec.distributed_ddl(database, cluster) for spec in TABLES]


def replica_hosts(settings: CommonSettings) -> list[tuple[str, int]]:
    """The configured server and its alternatives (the replicas of a cluster)."""
    hosts = [(settings.clickhouse_host, settings.clickhouse_port)]
    for item in filter(None, settings.clickhouse_alt_hosts.split(",")):
        host, _, port = item.rpartition(":")
        hosts.append((host, int(port)))
    return hosts


def ensure_schema(settings: CommonSettings, database: str | None = None) -> ServerFeatures:
    """Create the database and every table if missing, and add the columns a table made
    before lacks; idempotent."""
    db = database or settings.clickhouse_database
    if not settings.clickhouse_cluster:
        return _ensure_schema_on(connect(settings, database=""), db, settings)
    features, down = None, []
    for host, port in replica_hosts(settings):  # a replica that is down gets its tables
        try:  # when it is back (the next start of any process); the others serve meanwhile
            client = connect(settings, database="", host=host, port=port, alt_hosts=None)
            features = _ensure_schema_on(client, db, settings)
        except (NetworkError, SocketTimeoutError, OSError) as exc:
            down.append(f"{host}:{port} ({exc})")
    if features is None:
        raise NetworkError("no replica of the cluster answers: " + "; ".join(down))
    return features


def _ensure_schema_on(client: Client, db: str, settings: CommonSettings) -> ServerFeatures:
    try:
        features = detect_features(client)
        client.execute(f"CREATE DATABASE IF NOT EXISTS {db}")
        cluster = settings.clickhouse_cluster
        for statement in table_ddl(db, features, settings.raw_retention_days, cluster):
            client.execute(statement)
        add_missing_columns(client, db, features, cluster)
        return features
    finally:
        client.disconnect()


def table_columns(client: Client, database: str) -> dict[str, set[str]]:
    """The column names of each table in ``database``."""
    found: dict[str, set[str]] = {}
    for table, name in client.execute(
        "SELECT table, name FROM system.columns WHERE database = %(db)s", {"db": database}
    ):
        found.setdefault(table, set()).add(name)
    return found


def add_missing_columns(
    client: Client, database: str, features: ServerFeatures, cluster: str = ""
) -> int:
    """Give each table the columns its spec has and it lacks (18.16 has no ADD COLUMN IF
    NOT EXISTS: a column another process, or the other replica, added meanwhile is fine).
    Returns how many."""
    added, present = 0, table_columns(client, database)
    dist = [replace(spec, name=spec.name + DIST_SUFFIX) for spec in TABLES] if cluster else []
    for spec in (*TABLES, *dist):
        for column, statement in spec.add_columns(
            database, features.dim(), present.get(spec.name, set())
        ):
            try:
                client.execute(statement)
            except ServerException:
                if column not in table_columns(client, database).get(spec.name, set()):
                    raise
            added += 1
    return added


def drop_database(settings: CommonSettings, database: str) -> None:
    """Drop a database with everything in it (tests and replays), on every replica of a
    cluster (each holds its own tables)."""
    if not settings.clickhouse_cluster:
        where: list[dict[str, object]] = [{}]
    else:
        where = [{"host": h, "port": p, "alt_hosts": None} for h, p in replica_hosts(settings)]
    for place in where:
        client = connect(settings, database="", **place)
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
