"""The shape of a table spec: columns with types, engine and keys, and the SQL that comes
from them (DDL, INSERT and SELECT lists). Pure: which server features to use is passed in.

>>> spec = TableSpec("notes", columns("code dimension, n UInt8"), "MergeTree()", "code")
>>> print(spec.ddl("cb", "String", retention_days=None))
CREATE TABLE IF NOT EXISTS cb.notes (
    code String,
    n UInt8
) ENGINE = MergeTree()
ORDER BY code
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import NamedTuple

DIM = "dimension"
"""A low-cardinality string (family, metric, codes): LowCardinality(String) where the
server has it, String elsewhere."""

DIST_SUFFIX = "_dist"
"""On a cluster, the Distributed table over a table is named the table's name with this."""


class Column(NamedTuple):
    """A column: its name and ClickHouse type (or DIM)."""

    name: str
    type: str


@dataclass(frozen=True)
class TableSpec:
    """A table as every process sees it; ``ttl_on`` names the DateTime column that ages
    rows out (only on servers with TTL)."""

    name: str
    columns: tuple[Column, ...]
    engine: str
    order_by: str
    partition_by: str = ""
    ttl_on: str = ""
    comment: str = ""

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def column_list(self) -> str:
        """Every column, in table order: the list of an INSERT or a whole-row SELECT."""
        return ", ".join(self.names)

    def insert_sql(self, database: str = "") -> str:
        """The INSERT of whole rows (the rows go as the data argument: 18.16 hangs on
        literal VALUES)."""
        return f"INSERT INTO {self.qualified(database)} ({self.column_list}) VALUES"

    def qualified(self, database: str = "") -> str:
        return f"{database}.{self.name}" if database else self.name

    def select_list(self, *names: str) -> str:
        """Some columns, in the reader's order; an unknown name is a bug, caught here."""
        unknown = [name for name in names if name not in self.names]
        if unknown:
            raise KeyError(f"{self.name} has no column {', '.join(unknown)}")
        return ", ".join(names)

    def select_without(self, *dropped: str) -> str:
        """Every column but ``dropped``, in table order."""
        self.select_list(*dropped)
        return ", ".join(name for name in self.names if name not in dropped)

    def ddl(self, database: str, dimension: str, retention_days: int | None) -> str:
        """CREATE TABLE IF NOT EXISTS; ``retention_days`` None: no TTL clause."""
        columns = ",\n    ".join(f"{c.name} {_type(c, dimension)}" for c in self.columns)
        clauses = [f"ENGINE = {self.engine}"]
        if self.partition_by:
            clauses.append(f"PARTITION BY {self.partition_by}")
        clauses.append(f"ORDER BY {self.order_by}")
        if self.ttl_on and retention_days is not None:
            clauses.append(f"TTL {self.ttl_on} + INTERVAL {int(retention_days)} DAY")
        head = f"CREATE TABLE IF NOT EXISTS {self.qualified(database)}"
        return f"{head} (\n    {columns}\n) " + "\n".join(clauses)

    def replicated(self, database: str) -> TableSpec:
        """The same table as a replica of a cluster: a ``*MergeTree`` engine becomes its
        ``Replicated*`` form, agreeing through ZooKeeper under a path per database and
        table, and naming this server by its ``{replica}`` macro (other engines stay).

        >>> spec = TableSpec("notes", columns("code String, v UInt64"),
        ...                  "ReplacingMergeTree(v)", "code")
        >>> spec.replicated("cb").engine
        "ReplicatedReplacingMergeTree('/clickhouse/tables/cb/notes', '{replica}', v)"
        """
        found = re.fullmatch(r"(\w*MergeTree)\((.*)\)", self.engine, re.S)
        if not found:
            return self
        args = [f"'/clickhouse/tables/{database}/{self.name}'", "'{replica}'"]
        if found[2].strip():
            args.append(found[2].strip())
        return replace(self, engine=f"Replicated{found[1]}({', '.join(args)})")

    def distributed_ddl(self, database: str, cluster: str) -> str:
        """The ``<name>_dist`` table that reads the table on every shard of ``cluster``
        (one replica of each), with the table's own columns.

        >>> spec = TableSpec("notes", columns("code String"), "MergeTree()", "code")
        >>> print(spec.distributed_ddl("cb", "city"))
        CREATE TABLE IF NOT EXISTS cb.notes_dist AS cb.notes ENGINE = Distributed(city, cb, notes)
        """
        head = f"CREATE TABLE IF NOT EXISTS {database}.{self.name}{DIST_SUFFIX}"
        engine = f"Distributed({cluster}, {database}, {self.name})"
        return f"{head} AS {self.qualified(database)} ENGINE = {engine}"

    def add_columns(
        self, database: str, dimension: str, present: Iterable[str]
    ) -> list[tuple[str, str]]:
        """How an existing table gains the columns its spec gained: (column, ALTER) for
        each column not ``present``, placed after its predecessor (rows written before
        read the type's default: 0, '').

        >>> spec = TableSpec("notes", columns("code String, n UInt8, at UInt64"), "Log", "")
        >>> for name, sql in spec.add_columns("cb", "String", ["code"]):
        ...     print(sql)
        ALTER TABLE cb.notes ADD COLUMN n UInt8 AFTER code
        ALTER TABLE cb.notes ADD COLUMN at UInt64 AFTER n
        """
        have, table = set(present), self.qualified(database)
        return [
            (c.name, f"ALTER TABLE {table} ADD COLUMN {c.name} {_type(c, dimension)}"
                     f" AFTER {self.columns[i - 1].name}")
            for i, c in enumerate(self.columns)
            if c.name not in have and i > 0  # a table always has its first column
        ]  # fmt: skip


def _type(column: Column, dimension: str) -> str:
    return dimension if column.type == DIM else column.type


def columns(text: str) -> tuple[Column, ...]:
    """Columns from DDL-like text, ``"name type, name type"`` (no type here has a comma)."""
    found = []
    for part in text.split(","):
        name, _, kind = part.strip().partition(" ")
        if not kind or kind.count("(") != kind.count(")"):
            raise ValueError(f"not a column: {part.strip()!r}")
        found.append(Column(name, kind.strip()))
    return tuple(found)
