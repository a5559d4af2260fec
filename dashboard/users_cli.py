"""``python -m dashboard users``: add, list, disable and create the demo users.

python -m dashboard users add --username li --role district_operator --district D2
echo "$PASSWORD" | python -m dashboard users add --username li --role engineer --password-stdin
python -m dashboard users list
python -m dashboard users disable --username li
python -m dashboard users demo          # one user per role, documented passwords

Every change is written to the access audit, with ``cli:<os user>`` as the actor.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
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
    add.add_argument(
        "--password-stdin",
        action="store_true",
        help="read the password from standard input, not a prompt",
    )
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
) -> int:
    """Carry out one users command against ``store``, each change audited in ``audit`` as
    done by ``actor`` (default ``cli:<os user>``); 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    now = int(clock())
    save = _Saver(store, audit, actor or f"cli:{getpass.getuser()}", now)
    try:
        if args.command == "add":
            password = _read_password(args.password_stdin, stdin, prompt)
            user = make_user(args.username, args.role, args.district, password, now)
            save(user)
            print(
                f"user {user.username} saved ({user.role.value} {user.district})".rstrip(), file=out
            )
        elif args.command == "list":
            for u in store.all():
                state = "disabled" if u.disabled else "enabled"
                print(f"{u.username}\t{u.role.value}\t{u.district or '-'}\t{state}", file=out)
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
        self.audit.record(
            access_event(kind, user.username, self.now_s, actor=self.actor,
                         role=user.role.value, district=user.district)
        )  # fmt: skip


def _read_password(from_stdin: bool, stdin: TextIO, prompt: Callable[[str], str]) -> str:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    first = prompt("password: ")
    if prompt("again: ") != first:
        raise ValueError("the passwords differ")
    return first
