"""``citybrain-catalog``: list, show and edit the data catalog and the departments.

citybrain-catalog list [--json]
citybrain-catalog show water                  # a family, or a source id: WAT-0007
citybrain-catalog set water --owner water --freshness 15m --completeness 95 --allowance 10m
citybrain-catalog set WAT-0007 --freshness 30m   # a source's own entry, over its family's
citybrain-catalog set water --shared-with municipal,urban_management   # '' shares with none
citybrain-catalog departments list
citybrain-catalog departments add --code housing --name "Housing Bureau" --name-zh 住建局

Every change is a new version with its author (``--author``, default ``cli:<os user>``);
bad input (an unknown department or source, a bad duration, a percentage outside 0-100)
stops with a message and exit code 2.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any, Protocol, TextIO

import orjson

from detectors.contract.catalog import (
    CatalogEntry,
    Department,
    Promise,
    Subject,
    check_department_code,
    in_force,
    newest,
    parse_duration,
    parse_percent,
    source_override,
)
from detectors.contract.events import Family
from infra.catalog import CatalogStore
from infra.clickhouse import connect
from infra.settings import CommonSettings, SettingsError, load

PROG = "citybrain-catalog"


class Store(Protocol):
    """What the CLI needs of the catalog (infra.catalog.CatalogStore, or a test's fake)."""

    def history(self) -> list[CatalogEntry]: ...
    def departments(self) -> dict[str, Department]: ...
    def source(self, source_id: str) -> tuple[str, int] | None: ...
    def write(self, entries: list[CatalogEntry]) -> None: ...
    def write_departments(
        self, departments: list[Department], author: str, changed_ms: int, version: int
    ) -> None: ...


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--author", default="", help="who makes the change (cli:<os user>)")
    commands = parser.add_subparsers(dest="command", required=True)
    listing = commands.add_parser("list", help="every family and source entry in force")
    listing.add_argument("--json", action="store_true", help="one JSON array, not a table")
    show = commands.add_parser("show", help="one entry: owner, promise, what it feeds, history")
    show.add_argument("target", help="a family (environment, traffic, ...) or a source id")
    change = commands.add_parser("set", help="change an entry's owner or promise")
    change.add_argument("target", help="a family or a source id (a source gets its own entry)")
    change.add_argument("--owner", help="the owning department's code")
    change.add_argument("--freshness", help="freshness target: 90s, 15m, 2h, 1d")
    change.add_argument("--completeness", help="completeness target in percent, 0-100")
    change.add_argument("--allowance", help="how long a breach may last before it counts")
    change.add_argument("--shared-with", help="the other departments that use it, comma-separated "
                        "('' for none)")  # fmt: skip
    departments = commands.add_parser("departments", help="list or add departments")
    what = departments.add_subparsers(dest="departments_command", required=True)
    what.add_parser("list", help="every department")
    add = what.add_parser("add", help="add a department or change its names and contact")
    add.add_argument("--code", required=True, help="lower case letters, digits and _")
    add.add_argument("--name", required=True, help="the English name")
    add.add_argument("--name-zh", required=True, help="the Chinese name")
    add.add_argument("--contact", default="", help="a phone number or an address")
    return parser


def run(
    argv: list[str],
    store: Store,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    clock: Callable[[], float] = time.time,
) -> int:
    """Carry out one catalog command; 0 on success, 2 on bad input."""
    args = build_parser().parse_args(argv)
    author = args.author or f"cli:{getpass.getuser()}"
    now_ms = int(clock() * 1000)
    try:
        if args.command == "list":
            _list(store, args.json, out)
        elif args.command == "show":
            _show(store, args.target, out)
        elif args.command == "set":
            entry = _changed(store, args, author, now_ms)
            store.write([entry])
            print(f"{entry.subject.value} {entry.key}: version {entry.version} saved", file=out)
        elif args.departments_command == "list":
            for d in store.departments().values():
                print(f"{d.code}\t{d.name}\t{d.name_zh}\t{d.contact or '-'}", file=out)
        else:
            code = check_department_code(args.code)
            if not args.name.strip() or not args.name_zh.strip():
                raise ValueError("a department needs an English and a Chinese name")
            department = Department(code, args.name.strip(), args.name_zh.strip(), args.contact)
            store.write_departments([department], author, now_ms, now_ms)
            print(f"department {code} saved", file=out)
    except ValueError as exc:
        print(f"{PROG}: {exc}", file=err)
        return 2
    return 0


def _list(store: Store, as_json: bool, out: TextIO) -> None:
    entries = sorted(newest(store.history()).values(), key=lambda e: (e.subject != "family", e.key))
    if as_json:
        out.write(orjson.dumps([_as_dict(e) for e in entries], option=orjson.OPT_INDENT_2).decode())
        out.write("\n")
        return
    print("subject\tkey\tfamily\towner\tcadence\tfreshness\tcompleteness\tallowance\t"
          "shared with", file=out)  # fmt: skip
    for e in entries:
        p = e.promise
        print(f"{e.subject.value}\t{e.key}\t{e.family}\t{e.department}\t{e.cadence_s}s\t"
              f"{p.freshness_s}s\t{p.completeness_pct:g}%\t{p.allowance_s}s\t"
              f"{','.join(e.shared_with) or '-'}", file=out)  # fmt: skip


def _show(store: Store, target: str, out: TextIO) -> None:
    history = store.history()
    current = newest(history)
    entry = current.get((_subject(target).value, target))
    if entry is None:
        # A source without its own entry is governed by its family's.
        found = store.source(target)
        entry = in_force(current, found[0], target) if found else None
    if entry is None:
        raise ValueError(f"no family or source {target!r} in the catalog")
    owner = store.departments().get(entry.department)
    owner_text = f"{owner.name} / {owner.name_zh}" if owner else "(unknown department)"
    fields: dict[str, Any] = {**_as_dict(entry), "owner": f"{entry.department} ({owner_text})"}
    for name, value in fields.items():
        text = ", ".join(value) if isinstance(value, list) else value
        print(f"{name}: {text}", file=out)
    versions = [e for e in history if (e.subject, e.key) == (entry.subject, entry.key)]
    print("history:", file=out)
    for e in versions:
        p = e.promise
        print(f"  version {e.version}: {e.department}, freshness {p.freshness_s}s, "
              f"completeness {p.completeness_pct:g}%, allowance {p.allowance_s}s, "
              f"by {e.author}", file=out)  # fmt: skip


def _subject(target: str) -> Subject:
    return Subject.FAMILY if target in {f.value for f in Family} else Subject.SOURCE


def _changed(store: Store, args: argparse.Namespace, author: str, now_ms: int) -> CatalogEntry:
    """The new version of the target's entry, every option checked first."""
    if not any((args.owner, args.freshness, args.completeness, args.allowance)) and (
            args.shared_with is None):  # fmt: skip
        raise ValueError("nothing to change: give --owner, --freshness, --completeness, "
                         "--allowance or --shared-with")  # fmt: skip
    known = store.departments()
    shared = None if args.shared_with is None else _departments(args.shared_with, known)
    if args.owner and args.owner not in known:
        raise ValueError(f"unknown department {args.owner!r} (see: {PROG} departments list)")
    old = _entry_to_change(store, args.target)
    p = old.promise
    promise = Promise(
        parse_duration(args.freshness) if args.freshness else p.freshness_s,
        parse_percent(args.completeness) if args.completeness else p.completeness_pct,
        parse_duration(args.allowance) if args.allowance else p.allowance_s,
    )
    return replace(
        old, department=args.owner or old.department, promise=promise, author=author,
        changed_ms=now_ms, version=max(now_ms, old.version + 1),
        shared_with=old.shared_with if shared is None else shared,
    )  # fmt: skip


def _departments(text: str, known: dict[str, Department]) -> tuple[str, ...]:
    """Department codes from 'a,b' (each known, each once, in the order given)."""
    codes = tuple(dict.fromkeys(c.strip() for c in text.split(",") if c.strip()))
    unknown = [c for c in codes if c not in known]
    if unknown:
        raise ValueError(f"unknown department {unknown[0]!r} (see: {PROG} departments list)")
    return codes


def _entry_to_change(store: Store, target: str) -> CatalogEntry:
    current = newest(store.history())
    subject = _subject(target)
    own = current.get((subject.value, target))
    if own is not None:
        return own
    if subject is Subject.FAMILY:
        raise ValueError(f"family {target!r} has no catalog entry (write the reference data)")
    found = store.source(target)
    if found is None:
        raise ValueError(f"unknown source {target!r} (not in the sources table)")
    family, cadence_s = found
    base = current.get((Subject.FAMILY.value, family))
    if base is None:
        raise ValueError(f"family {family!r} has no catalog entry (write the reference data)")
    return source_override(base, target, cadence_s)


def _as_dict(e: CatalogEntry) -> dict[str, Any]:
    p = e.promise
    return {
        "subject": e.subject.value, "key": e.key, "family": e.family,
        "department": e.department, "schema_version": e.schema_version,
        "cadence_s": e.cadence_s, "freshness_s": p.freshness_s,
        "completeness_pct": p.completeness_pct, "allowance_s": p.allowance_s,
        "topics": list(e.topics), "tables": list(e.tables), "views": list(e.views),
        "author": e.author, "changed_ms": e.changed_ms, "version": e.version,
        "shared_with": list(e.shared_with),
    }  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    try:
        settings = load(CommonSettings)
    except SettingsError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    store = CatalogStore(lambda: connect(settings), settings.clickhouse_database)
    return run(sys.argv[1:] if argv is None else argv, store)


if __name__ == "__main__":
    raise SystemExit(main())
