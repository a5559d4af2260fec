"""``python -m dashboard users``: add, list, disable and create the demo users.

python -m dashboard users add --username li --role district_operator --district D2
python -m dashboard users add --username zhao --role engineer --department water
python -m dashboard users department --username zhao --department municipal   # '' = none
echo "$PASSWORD" | python -m dashboard users add --username li --role engineer --password-stdin
python -m dashboard users list
python -m dashboard users disable --username li
python -m dashboard users demo          # one user per role, documented passwords

Every change is written to the access audit, with ``cli:<os user>`` as the actor. A
department must be one of the departments table (``citybrain-catalog departments list``).
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import replace
from typing import TextIO

from dashboard.audit import AuditLog, access_event
from dashboard.scope import Role
from dashboard.users import DEMO_USERS, User, UserStore, make_user
from detectors.contract.audit import AccessKind


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dashboard users",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add = commands.add_parser("add", help="add a user or replace one (new password, role)")
    add.add_argument("--username", required=True)
    add.add_argument("--role", required=True, choices=[r.value for r in Role])
    add.add_argument("--district", default="", help="the district code (district operators)")
    add.add_argument("--department", default="", help="the user's department code")
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input, not a prompt",
    )
    moved = commands.add_parser("department", help="move a user to a department ('' = none)")
    moved.add_argument("--username", required=True)
    moved.add_argument("--department", required=True)
    commands.add_parser("list", help="list users (never their passwords)")
    disable = commands.add_parser("disable", help="disable a user: their session ends")
    disable.add_argument("--username", required=True)
    commands.add_parser("demo", help="create one user per role with the documented passwords")
    return parser


def run(
    argv: list[str],
    store: UserStore,
    audit: AuditLog,
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    prompt: Callable[[str], str] = getpass.getpass,
    clock: Callable[[], float] = time.time,
    actor: str = "",
    departments: Callable[[], Collection[str]] = tuple,
) -> int:
    """Carry out one users command against ``store``, each change audited in ``audit`` as
    done by ``actor`` (default ``cli:<os user>``); ``departments`` gives the department
    codes a user may belong to. 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    now = int(clock())
    save = _Saver(store, audit, actor or f"cli:{getpass.getuser()}", now)
    try:
        if args.command == "add":
            department = _known(args.department, departments)
            password = _read_password(args.password_stdin, stdin, prompt)
            user = make_user(args.username, args.role, args.district, password, now, department)
            save(user)
            saved = f"{user.role.value} {user.district} {user.department}".strip()
            print(f"user {user.username} saved ({' '.join(saved.split())})", file=out)
        elif args.command == "department":
            found = store.get(args.username)
            if found is None:
                raise ValueError(f"no user {args.username}")
            department = _known(args.department, departments)
            save(replace(found, department=department, updated_at=now))
            print(f"user {args.username} in department {department or '-'}", file=out)
        elif args.command == "list":
            for u in store.all():
                state = "disabled" if u.disabled else "enabled"
                print(f"{u.username}\t{u.role.value}\t{u.district or '-'}\t{state}\t"
                      f"{u.department or '-'}", file=out)  # fmt: skip
        elif args.command == "disable":
            found = store.get(args.username)
            if found is None:
                raise ValueError(f"no user {args.username}")
            save(replace(found, disabled=True, updated_at=now))
            print(f"user {args.username} disabled", file=out)
        else:
            for demo in DEMO_USERS:
                save(make_user(demo.username, demo.role, demo.district, demo.password, now))
                print(
                    f"{demo.username}\t{demo.role.value}\t{demo.district or '-'}\t"
                    f"password: {demo.password}",
                    file=out,
                )
    except ValueError as exc:
        print(f"users: {exc}", file=sys.stderr)
        return 2
    return 0


class _Saver:
    """Stores a user and audits the change: added, changed, or disabled."""

    def __init__(self, store: UserStore, audit: AuditLog, actor: str, now_s: int) -> None:
        self.store, self.audit, self.actor, self.now_s = store, audit, actor, now_s

    def __call__(self, user: User) -> None:
        before = self.store.get(user.username)
        self.store.put(user)
        if user.disabled and not (before and before.disabled):
            kind = AccessKind.USER_DISABLED
        else:
            kind = AccessKind.USER_CHANGED if before else AccessKind.USER_ADDED
        detail = f"department {user.department}" if user.department else ""
        self.audit.record(
            access_event(kind, user.username, self.now_s, actor=self.actor,
                         role=user.role.value, district=user.district, detail=detail)
        )  # fmt: skip


def _known(department: str, departments: Callable[[], Collection[str]]) -> str:
    """``department`` when it is '' (none) or a known department's code."""
    department = department.strip()
    if department and department not in departments():
        raise ValueError(f"unknown department {department!r} (see: citybrain-catalog "
                         "departments list)")  # fmt: skip
    return department


def _read_password(from_stdin: bool, stdin: TextIO, prompt: Callable[[str], str]) -> str:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    first = prompt("password: ")
    if prompt("again: ") != first:
        raise ValueError("the passwords differ")
    return first
