"""Where the access audit goes: the ``auth_events`` table (detectors.contract.audit), written
through the dashboard's one statement runner with the INSERT its spec makes."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable
from typing import Protocol, TextIO

from clickhouse_driver import Client

from dashboard.model import QueryError
from dashboard.pool import ClientPool
from detectors.contract.audit import AccessEvent, AccessKind, access_row
from detectors.contract.tables import AUTH_EVENTS


class AuditLog(Protocol):
    """Keeps access audit entries."""

    def record(self, event: AccessEvent) -> None: ...


def access_event(
    kind: AccessKind,
    username: str,
    now_s: float,
    *,
    actor: str = "",
    address: str = "",
    role: str = "",
    district: str = "",
    detail: str = "",
) -> AccessEvent:
    """A new entry; the actor is the user themselves unless named."""
    return AccessEvent(
        str(uuid.uuid4()), int(now_s * 1000), kind, username, actor or username, address,
        role, district, detail,
    )  # fmt: skip


class ClickHouseAuditLog:
    """Entries in ``auth_events``. When ClickHouse cannot take one, the entry goes to
    stderr (the process log) instead: a login must not fail because the audit store is
    down, and the entry must not vanish either."""

    def __init__(self, client_factory: Callable[[], Client], err: TextIO = sys.stderr) -> None:
        self._pool = ClientPool(client_factory, size=1)
        self.err = err

    def record(self, event: AccessEvent) -> None:
        try:
            self._pool.insert(AUTH_EVENTS, [access_row(event)])
        except QueryError as exc:
            print(f"citybrain-dashboard: audit not stored ({exc}): {event}", file=self.err)


class MemoryAuditLog:
    """Entries in a list (tests and a database-free demo)."""

    def __init__(self) -> None:
        self.events: list[AccessEvent] = []

    def record(self, event: AccessEvent) -> None:
        self.events.append(event)

    def kinds(self) -> list[str]:
        return [event.kind.value for event in self.events]
