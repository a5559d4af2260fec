"""A small pool of ClickHouse clients, shared by the threads Dash runs callbacks in: the one
way the dashboard runs statements, reads and (for its users and access audit) writes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError

from dashboard.model import QueryError
from dashboard.rows import describe_error
from detectors.contract.table_spec import TableSpec

_QUERY_SETTINGS = {"max_execution_time": 10}


class ClientPool:
    """Runs statements on idle clients (one connection serves one query at a time) and
    turns every failure of the server or the network into a :class:`QueryError`."""

    def __init__(self, client_factory: Callable[[], Client], size: int = 4) -> None:
        self.client_factory = client_factory
        self.size = size
        self._idle: list[Client] = []
        self._lock = threading.Lock()

    def execute(
        self, text: str, params: dict[str, Any] | Sequence[tuple[Any, ...]] | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows of one statement, its values passed as parameters (an INSERT's rows)."""
        try:
            with self._client() as client:
                found = client.execute(text, params, settings=_QUERY_SETTINGS)
        except (DriverError, OSError, EOFError) as exc:
            raise QueryError(describe_error(exc)) from exc
        return list(found) if isinstance(found, list) else []  # an INSERT answers a count

    def insert(self, spec: TableSpec, rows: Sequence[tuple[Any, ...]]) -> None:
        """Write whole rows of ``spec``'s table with the INSERT the contract makes for it."""
        self.execute(spec.insert_sql(), rows)

    @contextmanager
    def _client(self) -> Iterator[Client]:
        """An idle client, or a new one; a client that failed is dropped, not reused."""
        with self._lock:
            client = self._idle.pop() if self._idle else None
        client = client or self.client_factory()
        try:
            yield client
        except BaseException:
            client.disconnect()
            raise
        with self._lock:
            keep = len(self._idle) < self.size
            if keep:
                self._idle.append(client)
        if not keep:
            client.disconnect()
