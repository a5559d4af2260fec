"""The command line of ``citybrain-replay``: parsing and checking arguments, nothing else.

Everything that can be checked without the services is checked here, so that a bad
command line stops before anything is read or written.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import NoReturn

from detectors.contract.events import Family
from replay.namespace import BadName, check_name

PROG = "citybrain-replay"
SOURCES = ("clickhouse", "kafka")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class UsageError(ValueError):
    """A bad command line; the message says what is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


@dataclass(frozen=True, slots=True)
class Selection:
    """What to replay: a half-open event-time range [from_ms, to_ms) and filters (empty
    tuples mean everything)."""

    from_ms: int
    to_ms: int
    districts: tuple[str, ...] = ()
    families: tuple[Family, ...] = ()
    source: str = "clickhouse"


@dataclass(frozen=True, slots=True)
class RunArgs:
    """``run``: one replay. ``speed`` None means as fast as possible."""

    name: str
    selection: Selection
    speed: float | None
    detector_config: Path | None
    keep_running: bool
    as_json: bool


@dataclass(frozen=True, slots=True)
class BacktestArgs:
    """``backtest``: two replays of one range, A and B, and a report of their alerts.
    ``from_ms``/``to_ms`` None take the scenario's range."""

    name: str
    from_ms: int | None
    to_ms: int | None
    districts: tuple[str, ...]
    families: tuple[Family, ...]
    source: str
    speed: float | None
    config_a: Path
    config_b: Path
    scenario: Path | None
    scenario_end_ms: int | None  # where the scenario's end was played (None: its own dates)
    report: Path
    tolerance_min: float
    as_json: bool


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command line: ``name`` is run, list, delete, compare or backtest."""

    name: str
    run: RunArgs | None = None
    backtest: BacktestArgs | None = None
    targets: tuple[str, ...] = ()
    show_all: bool = False
    as_json: bool = False


def build_parser() -> argparse.ArgumentParser:
    """The parser with its subcommands run, list, delete, compare and backtest."""
    parser = _Parser(
        prog=PROG,
        description="Re-run recorded history through the worker in an isolated namespace.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", help="replay a time range into replay NAME")
    run.add_argument("--name", required=True, help="[a-z0-9_]{1,40}")
    _add_range(run, required=True)
    run.add_argument("--detector-config", help="detector configuration (YAML) for the worker")
    run.add_argument(
        "--keep-running", action="store_true", help="leave the worker running at the end"
    )
    run.add_argument("--json", action="store_true", help="the summary as one JSON line")
    listing = commands.add_parser("list", help="list the replays")
    listing.add_argument("--all", action="store_true", help="include deleted replays")
    listing.add_argument("--json", action="store_true", help="one JSON line per replay")
    delete = commands.add_parser("delete", help="delete a replay and everything it wrote")
    delete.add_argument("name")
    compare = commands.add_parser("compare", help="compare what two replays stored")
    compare.add_argument("names", nargs=2)
    backtest = commands.add_parser("backtest", help="compare two detector configurations")
    _add_backtest_arguments(backtest)
    return parser


def _add_range(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--from", dest="start", required=required, metavar="ISO",
                        help="ISO 8601 time (UTC if no offset)")  # fmt: skip
    parser.add_argument("--to", dest="end", required=required, metavar="ISO",
                        help="ISO 8601 time, exclusive")  # fmt: skip
    parser.add_argument("--districts", help="comma-separated district codes (default all)")
    parser.add_argument("--families", help="comma-separated: " + ",".join(f for f in Family))
    parser.add_argument("--source", default="clickhouse", help="clickhouse (default) or kafka")
    parser.add_argument("--speed", default="max", help="1 (real time), N (N times), or max")


def _add_backtest_arguments(backtest: argparse.ArgumentParser) -> None:
    backtest.add_argument("--name", required=True, help="replays NAME_a and NAME_b")
    _add_range(backtest, required=False)
    backtest.add_argument("--config-a", required=True, help="detector configuration A (YAML)")
    backtest.add_argument("--config-b", required=True, help="detector configuration B (YAML)")
    backtest.add_argument("--scenario", help="scenario YAML with labelled windows")
    backtest.add_argument(
        "--scenario-end", metavar="ISO",
        help="where the scenario's end was played ('end' in citybrain-sim scenario's summary); "
        "its labels and range move with it (default: the scenario's own dates)",
    )  # fmt: skip
    backtest.add_argument("--report", required=True, help="Markdown report to write")
    backtest.add_argument(
        "--tolerance-min", type=float, default=30.0,
        help="an alert this long before a labelled window still catches it (30)",
    )  # fmt: skip
    backtest.add_argument("--json", action="store_true", help="the summary as one JSON line")


def parse(argv: list[str] | None) -> Command:
    """The checked command line; raises UsageError saying what is wrong."""
    args = build_parser().parse_args(argv)
    if args.command == "run":
        return Command("run", run=_run_args(args))
    if args.command == "backtest":
        return Command("backtest", backtest=_backtest_args(args))
    if args.command == "delete":
        return Command("delete", targets=(_name(args.name),))
    if args.command == "compare":
        return Command("compare", targets=tuple(_name(n) for n in args.names))
    return Command("list", show_all=args.all, as_json=args.json)


def _run_args(args: argparse.Namespace) -> RunArgs:
    from_ms, to_ms = parse_range(args.start, args.end)
    selection = Selection(
        from_ms, to_ms, parse_districts(args.districts), parse_families(args.families),
        parse_source(args.source),
    )  # fmt: skip
    return RunArgs(
        name=_name(args.name),
        selection=selection,
        speed=parse_speed(args.speed),
        detector_config=_existing(args.detector_config, "--detector-config"),
        keep_running=args.keep_running,
        as_json=args.json,
    )


def _backtest_args(args: argparse.Namespace) -> BacktestArgs:
    name = _name(args.name)
    _name(f"{name}_a")  # the two replays' names must be valid too
    if (args.start is None) != (args.end is None):
        raise UsageError("give both --from and --to, or neither (with --scenario)")
    if args.start is None and args.scenario is None:
        raise UsageError("--from and --to are required without --scenario")
    from_ms, to_ms = (None, None) if args.start is None else parse_range(args.start, args.end)
    if not args.tolerance_min >= 0:
        raise UsageError(f"--tolerance-min must not be negative, got {args.tolerance_min:g}")
    if args.scenario_end is not None and args.scenario is None:
        raise UsageError("--scenario-end needs --scenario")
    scenario_end = (
        None if args.scenario_end is None else parse_time(args.scenario_end, "--scenario-end")
    )
    config_a = _existing(args.config_a, "--config-a")
    config_b = _existing(args.config_b, "--config-b")
    assert config_a is not None and config_b is not None
    return BacktestArgs(
        name=name, from_ms=from_ms, to_ms=to_ms,
        districts=parse_districts(args.districts), families=parse_families(args.families),
        source=parse_source(args.source), speed=parse_speed(args.speed),
        config_a=config_a, config_b=config_b,
        scenario=_existing(args.scenario, "--scenario"), scenario_end_ms=scenario_end,
        report=Path(args.report),
        tolerance_min=float(args.tolerance_min), as_json=args.json,
    )  # fmt: skip


def _name(text: str) -> str:
    try:
        return check_name(text)
    except BadName as exc:
        raise UsageError(str(exc)) from None


def _existing(path: str | None, flag: str) -> Path | None:
    if path is None:
        return None
    found = Path(path)
    if not found.is_file():
        raise UsageError(f"{flag} {path!r}: no such file")
    return found.resolve()


def parse_time(text: str, flag: str) -> int:
    """Epoch ms of an ISO 8601 time (naive means UTC).

    >>> parse_time("2025-11-26T00:00:00Z", "--from")
    1764115200000
    >>> parse_time("2025-11-26 08:00:00+08:00", "--from")
    1764115200000
    >>> parse_time("2026-11-25T23:27:22.129", "--from")
    1795649242129
    """
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"{flag} {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - EPOCH) // timedelta(milliseconds=1)  # exact: no float rounding


def parse_range(start: str, end: str) -> tuple[int, int]:
    """[from, to) in epoch ms; an empty or backwards range is refused."""
    from_ms, to_ms = parse_time(start, "--from"), parse_time(end, "--to")
    if to_ms < from_ms:
        raise UsageError(f"--to {end} is before --from {start}")
    if to_ms == from_ms:
        raise UsageError(f"the range is empty: --from and --to are both {start}")
    return from_ms, to_ms


def parse_speed(text: str) -> float | None:
    """None for ``max``, else a positive factor (``10`` or ``10x``).

    >>> parse_speed("max"), parse_speed("10x"), parse_speed("0.5")
    (None, 10.0, 0.5)
    """
    cleaned = text.strip().lower()
    if cleaned == "max":
        return None
    try:
        speed = float(cleaned.removesuffix("x"))
    except ValueError:
        speed = float("nan")
    if not 0 < speed < float("inf"):
        raise UsageError(
            f"--speed must be a positive number (1 = real time) or 'max', got {text!r}"
        )
    return speed


def _items(text: str | None, flag: str) -> tuple[str, ...]:
    if text is None:
        return ()
    items = tuple(item.strip() for item in text.split(","))
    if not all(items):
        raise UsageError(f"{flag} {text!r} has an empty item")
    return tuple(dict.fromkeys(items))


def parse_districts(text: str | None) -> tuple[str, ...]:
    """District codes (checked against the live areas later, by the caller)."""
    return _items(text, "--districts")


def parse_families(text: str | None) -> tuple[Family, ...]:
    """Event families; an unknown one is refused with the known ones listed."""
    families = _items(text, "--families")
    unknown = [f for f in families if f not in Family._value2member_map_]
    if unknown:
        known = ", ".join(f.value for f in Family)
        raise UsageError(f"unknown family {', '.join(unknown)} (known: {known})")
    return tuple(Family(f) for f in families)


def parse_source(text: str) -> str:
    if text not in SOURCES:
        raise UsageError(f"--source must be clickhouse or kafka, got {text!r}")
    return text
