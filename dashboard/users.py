"""The command center's users: role, district, department, and a password stored only as
a hash.

Users live in the ClickHouse ``users`` table (one row per change, the newest wins); the
dashboard reads it at login and the CLI (``python -m dashboard users``) writes it. It is
not an operational table: the worker never touches it.
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

from clickhouse_driver import Client
from werkzeug.security import check_password_hash, generate_password_hash

from dashboard.pool import ClientPool
from dashboard.scope import Role, Scope, check_assignment, parse_role
from detectors.contract.tables import USERS

USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
DISTRICT = re.compile(r"^[A-Za-z0-9_.:-]{0,64}$")
DEPARTMENT = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
MIN_PASSWORD = 8


@dataclass(frozen=True, slots=True)
class User:
    """A user as stored: ``updated_at`` in epoch seconds orders their changes."""

    username: str
    password_hash: str
    role: Role
    district: str
    disabled: bool
    updated_at: int
    department: str = ""  # a departments code ('' = none: the command center's own staff)

    def scope(self) -> Scope:
        return Scope(self.role, self.district, self.username, self.department)


@dataclass(frozen=True, slots=True)
class DemoUser:
    username: str
    role: Role
    district: str
    password: str


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("commander", Role.CITY_COMMANDER, "", "commander-demo"),
    DemoUser("operator-d1", Role.DISTRICT_OPERATOR, "D1", "operator-demo"),
    DemoUser("operator-d2", Role.DISTRICT_OPERATOR, "D2", "operator-demo"),
    DemoUser("emergency", Role.EMERGENCY_STAFF, "", "emergency-demo"),
    DemoUser("engineer", Role.ENGINEER, "", "engineer-demo"),
    DemoUser("wall", Role.WALL_SCREEN, "", "wall-demo"),
)
"""One user per role for a local run (documented passwords: never use them elsewhere)."""


class UserStore(Protocol):
    """Where users are kept."""

    def get(self, username: str) -> User | None: ...

    def put(self, user: User) -> None: ...

    def all(self) -> list[User]: ...


def hash_password(password: str) -> str:
    """A salted scrypt hash (werkzeug)."""
    return generate_password_hash(password, method="scrypt")


def make_user(
    username: str, role: str, district: str, password: str, now_s: int, department: str = ""
) -> User:
    """A new user, or ValueError saying what is wrong with the input (the department is
    checked against the departments by the caller, who knows them)."""
    if not USERNAME.match(username):
        raise ValueError("a username is 1-64 letters, digits or ._@-")
    if not DISTRICT.match(district):
        raise ValueError("a district is a code of letters, digits or _.:-")
    parsed = parse_role(role)
    check_assignment(parsed, district)
    if len(password) < MIN_PASSWORD:
        raise ValueError(f"a password has at least {MIN_PASSWORD} characters")
    if department and not DEPARTMENT.match(department):
        raise ValueError("a department is a code of lower case letters, digits or _")
    return User(username, hash_password(password), parsed, district, False, now_s, department)


@functools.cache
def _dummy_hash() -> str:
    return hash_password("not the password of anyone")


def authenticate(store: UserStore, username: str, password: str) -> User | None:
    """The user when the password matches and the user is enabled. An unknown name costs
    as much time as a wrong password, so the answer does not tell which it was."""
    user = store.get(username) if USERNAME.match(username or "") else None
    stored = user.password_hash if user else _dummy_hash()
    matches = check_password_hash(stored, password or "")
    if user is None or user.disabled or not matches:
        return None
    return user


def successor(old: User | None, new: User) -> User:
    """``new`` stamped after ``old``: the newest row of a user must win even within one
    second."""
    if old is not None and new.updated_at <= old.updated_at:
        return replace(new, updated_at=old.updated_at + 1)
    return new


_COLUMNS = USERS.column_list.replace("updated_at", "toUInt32(updated_at)")
_GET_SQL = f"""
SELECT {_COLUMNS}
FROM users FINAL WHERE username = %(username)s
"""
_ALL_SQL = f"""
SELECT {_COLUMNS}
FROM users FINAL ORDER BY username
"""


def _user(
    username: str, hashed: str, role: str, district: str, disabled: int, ts: int, department: str
) -> User:
    return User(str(username), str(hashed), Role(role), str(district), bool(disabled), int(ts),
                str(department))  # fmt: skip


class ClickHouseUserStore:
    """Users in the ``users`` table of the configured database."""

    def __init__(self, client_factory: Callable[[], Client]) -> None:
        self.client_factory = client_factory
        self._pool = ClientPool(client_factory, size=1)

    def get(self, username: str) -> User | None:
        found = self._pool.execute(_GET_SQL, {"username": username})
        return _user(*found[0]) if found else None

    def put(self, user: User) -> None:
        user = successor(self.get(user.username), user)
        row = (
            user.username,
            user.password_hash,
            user.role.value,
            user.district,
            int(user.disabled),
            user.updated_at,
            user.department,
        )
        self._pool.insert(USERS, [row])

    def all(self) -> list[User]:
        return [_user(*row) for row in self._pool.execute(_ALL_SQL)]


class MemoryUserStore:
    """Users in a dict (tests)."""

    def __init__(self, users: list[User] | None = None) -> None:
        self.users = {u.username: u for u in users or []}

    def get(self, username: str) -> User | None:
        return self.users.get(username)

    def put(self, user: User) -> None:
        self.users[user.username] = successor(self.users.get(user.username), user)

    def all(self) -> list[User]:
        return sorted(self.users.values(), key=lambda u: u.username)


def demo_store(now_s: int | None = None) -> MemoryUserStore:
    """The demo users in memory (tests and a database-free demo)."""
    stamp = int(time.time()) if now_s is None else now_s
    return MemoryUserStore(
        [make_user(u.username, u.role, u.district, u.password, stamp) for u in DEMO_USERS]
    )
