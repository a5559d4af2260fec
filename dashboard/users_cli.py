"""``python -m dashboard users``: add, list, disable and create the demo users.

python -m dashboard users add --username li --role district_operator --district D2
echo "$PASSWORD" | python -m dashboard users add --username li --role engineer --password-stdin
python -m dashboard users list
python -m dashboard users disable --username li
python -m dashboard users demo          # one user per role, documented passwords
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import TextIO

from dashboard.scope import Role
from dashboard.users import DEMO_USERS, UserStore, make_user


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
    stdin: TextIO = sys.stdin,
    out: TextIO = sys.stdout,
    prompt: Callable[[str], str] = getpass.getpass,
    clock: Callable[[], float] = time.time,
) -> int:
    """Carry out one users command against ``store``; 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    now = int(clock())
    try:
        if args.command == "add":
            password = _read_password(args.password_stdin, stdin, prompt)
            user = make_user(args.username, args.role, args.district, password, now)
            store.put(user)
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
            store.put(replace(found, disabled=True, updated_at=now))
            print(f"user {args.username} disabled", file=out)
        else:
            for demo in DEMO_USERS:
                store.put(make_user(demo.username, demo.role, demo.district, demo.password, now))
                print(
                    f"{demo.username}\t{demo.role.value}\t{demo.district or '-'}\t"
                    f"password: {demo.password}",
                    file=out,
                )
    except ValueError as exc:
        print(f"users: {exc}", file=sys.stderr)
        return 2
    return 0


def _read_password(from_stdin: bool, stdin: TextIO, prompt: Callable[[str], str]) -> str:
    if from_stdin:
        return stdin.readline().rstrip("\r\n")
    first = prompt("password: ")
    if prompt("again: ") != first:
        raise ValueError("the passwords differ")
    return first
