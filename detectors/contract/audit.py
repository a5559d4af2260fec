"""Who came into the command center and who changed its users: the access audit, as the
rows of ``auth_events`` that the dashboard and its users CLI write and the city commander
reads.

An entry is written for every login, failed or refused login, logout, refused request and
change of a user. ``actor`` is who did it (the user themselves at a login; ``cli:<os
user>`` for the users CLI), ``username`` whom it is about, ``address`` where the request
came from.

>>> event = AccessEvent("e-1", 1764115200000, AccessKind.LOGIN_FAILED, "li", "li",
...                     "10.0.0.7", "", "", "wrong password or unknown user")
>>> access_row(event)[:4]
('e-1', 1764115200, 1764115200000, 'login_failed')
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class AccessKind(StrEnum):
    """What happened at the door."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGIN_THROTTLED = "login_throttled"
    LOGOUT = "logout"
    REQUEST_REFUSED = "request_refused"
    USER_ADDED = "user_added"
    USER_CHANGED = "user_changed"
    USER_DISABLED = "user_disabled"


REFUSALS = frozenset({AccessKind.LOGIN_FAILED, AccessKind.LOGIN_THROTTLED,
                      AccessKind.REQUEST_REFUSED})  # fmt: skip
"""The kinds the audit page marks as refusals."""

MAX_TEXT = 200
"""Longest username, address or detail kept: what a client sends is not trusted to be short."""


@dataclass(frozen=True, slots=True)
class AccessEvent:
    """One entry of the access audit; ``role`` and ``district`` are the user's, when known."""

    event_id: str
    ts_ms: int
    kind: AccessKind
    username: str
    actor: str
    address: str
    role: str
    district: str
    detail: str


def access_row(event: AccessEvent) -> tuple[object, ...]:
    """The ``auth_events`` row of an entry (texts cut to :data:`MAX_TEXT`)."""
    return (
        event.event_id, event.ts_ms // 1000, event.ts_ms, event.kind.value,
        event.username[:MAX_TEXT], event.actor[:MAX_TEXT], event.address[:MAX_TEXT],
        event.role, event.district[:MAX_TEXT], event.detail[:MAX_TEXT],
    )  # fmt: skip
