"""The command line of ``citybrain-sim``: parsing and checking arguments, nothing else."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import NoReturn

PROG = "citybrain-sim"


class UsageError(ValueError):
    """A bad command line; the message says what is wrong."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


@dataclass(frozen=True, slots=True)
class CityArgs:
    """Which city to simulate."""

    seed: int
    districts: int
    streets: int
    grid_rows: int
    grid_cols: int
    sensors_per_cell: float


@dataclass(frozen=True, slots=True)
class RunArgs:
    """What ``run`` produces: ``rate`` None means the city's cadence rate (every sensor
    stream at its cadence; see :meth:`at_rate`), ``count`` None means until stopped (or
    ``duration_s`` of event time), ``start_ms`` None means now (or, at max speed with a
    known count, early enough that the last event is now); ``drill_every_s`` None means no
    demo drills."""

    rate: float | None
    count: int | None
    malformed: float
    case_fraction: float
    start_ms: int | None
    max_speed: bool
    reference: bool
    metrics_port: int | None
    duration_s: float | None = None
    drill_every_s: float | None = None
    play_departments: bool = False

    def at_rate(self, rate: float) -> RunArgs:
        """These arguments with ``rate`` filled in where none was given, and the count of
        a ``--duration`` worked out at the rate."""
        chosen = self.rate if self.rate is not None else rate
        count = self.count
        if count is None and self.duration_s is not None:
            count = max(1, round(self.duration_s * chosen))
        return replace(self, rate=chosen, count=count)


@dataclass(frozen=True, slots=True)
class ScenarioArgs:
    """What ``scenario`` plays: ``speed`` None is as fast as possible, ``end_ms`` None is
    now; ``name`` None with ``list_only`` lists the scenarios."""

    name: str | None
    list_only: bool
    seed: int
    speed: float | None
    end_ms: int | None
    skip_hours: float
    reference: bool
    folder: str | None


@dataclass(frozen=True, slots=True)
class Command:
    """A parsed command line."""

    name: str
    city: CityArgs
    run: RunArgs | None = None
    as_json: bool = False
    scenario: ScenarioArgs | None = None


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands run, reference, city and scenario."""
    city = _Parser(add_help=False)
    group = city.add_argument_group("city")
    group.add_argument("--seed", type=int, default=1, help="city and event seed (default 1)")
    group.add_argument("--districts", type=int, default=6)
    group.add_argument("--streets", type=int, default=4, help="streets per district")
    group.add_argument("--grid-rows", type=int, default=3, help="grid cell rows per street")
    group.add_argument("--grid-cols", type=int, default=4, help="grid cell cols per street")
    group.add_argument(
        "--sensors-per-cell", type=float, default=3.0,
        help="mean sensors per grid cell (default 3: ~900 sources; 34: ~10,000)",
    )  # fmt: skip
    parser = _Parser(prog=PROG, description="Simulated city sensors and case reports for Kafka.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    run = commands.add_parser("run", parents=[city], help="write reference data, then produce")
    _add_run_arguments(run)
    commands.add_parser("reference", parents=[city], help="only write the reference data")
    summary = commands.add_parser("city", parents=[city], help="print a summary of the city")
    summary.add_argument("--json", action="store_true", help="as one JSON line")
    scenario = commands.add_parser(
        "scenario", help="play a labelled scenario (scenarios/<name>.yaml) live"
    )
    _add_scenario_arguments(scenario)
    return parser


def _add_scenario_arguments(scenario: argparse.ArgumentParser) -> None:
    scenario.add_argument("--name", help="the scenario: a file name in scenarios/ without .yaml")
    scenario.add_argument("--list", action="store_true", help="name the scenarios and stop")
    scenario.add_argument(
        "--seed", type=int, default=7,
        help="synthesis seed (default 7, as 'python -m detectors evaluate')",
    )  # fmt: skip
    scenario.add_argument(
        "--speed", default="max",
        help="'max' (default): as fast as possible; N: event time runs N times faster than "
        "real time (1: real time)",
    )  # fmt: skip
    scenario.add_argument(
        "--start", help="where the scenario's end lands: ISO 8601 (UTC if no offset) or 'now' "
        "(default); every event time is shifted by the same amount",
    )  # fmt: skip
    scenario.add_argument(
        "--skip-hours", type=float, default=0.0,
        help="leave out the first hours (warm-up) of the scenario; never a labelled window",
    )  # fmt: skip
    scenario.add_argument(
        "--no-reference", action="store_true",
        help="do not register the scenario's sources and areas (already done)",
    )  # fmt: skip
    scenario.add_argument(
        "--city-seed", type=int, default=1,
        help="seed of the city model written when the database has no areas (default 1)",
    )  # fmt: skip
    scenario.add_argument("--scenarios", help="folder of scenario files (default scenarios/)")


def _add_run_arguments(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--rate", type=float,
        help="events per second (default: the city's cadence rate, the sum over sensor "
        "streams of 1 / cadence, so every stream reports at its cadence)",
    )  # fmt: skip
    run.add_argument("--duration", type=float, help="seconds of event time to produce")
    run.add_argument("--count", type=int, help="number of events to produce")
    run.add_argument("--malformed", type=float, default=0.0, help="share of corrupted events")
    run.add_argument("--case-fraction", type=float, default=0.02, help="share of case reports")
    run.add_argument(
        "--start", help="event time of the first event: ISO 8601 (UTC if no offset) or 'now'"
    )
    run.add_argument(
        "--max-speed", action="store_true",
        help="send as fast as possible; event times stay spaced as if at --rate (with no "
        "--count or --duration they run ahead of the clock)",
    )  # fmt: skip
    run.add_argument(
        "--play-departments", action="store_true",
        help="move filed cases along their lifecycle too (demo runs); by default cases are "
        "only filed and operators move them on in the command center",
    )  # fmt: skip
    run.add_argument("--no-reference", action="store_true", help="skip writing reference data")
    run.add_argument("--metrics-port", type=int, help="Prometheus port (0: off)")
    run.add_argument(
        "--demo", action="store_true",
        help="play a labelled drill (flood, air pollution, water main, traffic crash, feeder "
        "overload, case surge, in turn) on the live sensors every --drill-every seconds",
    )  # fmt: skip
    run.add_argument(
        "--drill-every", type=float, default=900.0,
        help="seconds between the starts of demo drills (default 900)",
    )  # fmt: skip


def parse(argv: list[str] | None) -> Command:
    """The checked command line; raises UsageError saying what is wrong."""
    args = build_parser().parse_args(argv)
    if args.command == "scenario":
        city = CityArgs(args.city_seed, 6, 4, 3, 4, 3.0)
        return Command("scenario", city, scenario=_scenario_args(args))
    city = _city_args(args)
    if args.command == "run":
        return Command("run", city, run=_run_args(args))
    return Command(args.command, city, as_json=bool(getattr(args, "json", False)))


def _city_args(args: argparse.Namespace) -> CityArgs:
    for flag in ("districts", "streets", "grid_rows", "grid_cols"):
        if getattr(args, flag) < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1")
    if not args.sensors_per_cell >= 0:
        raise UsageError("--sensors-per-cell must not be negative")
    return CityArgs(
        args.seed, args.districts, args.streets, args.grid_rows, args.grid_cols,
        args.sensors_per_cell,
    )  # fmt: skip


def _run_args(args: argparse.Namespace) -> RunArgs:
    if args.rate is not None and not args.rate > 0:
        raise UsageError(f"--rate must be positive, got {args.rate:g}")
    if args.demo and not args.drill_every > 0:
        raise UsageError(f"--drill-every must be positive, got {args.drill_every:g}")
    for flag, fraction in (
        ("--malformed", args.malformed),
        ("--case-fraction", args.case_fraction),
    ):
        if not 0.0 <= fraction <= 1.0:
            raise UsageError(f"{flag} must be between 0 and 1, got {fraction:g}")
    if args.metrics_port is not None and not 0 <= args.metrics_port <= 65535:
        raise UsageError(f"--metrics-port must be 0..65535, got {args.metrics_port}")
    count = _count(args.count, args.duration, args.rate)
    return RunArgs(
        rate=args.rate,
        count=count,
        malformed=args.malformed,
        case_fraction=args.case_fraction,
        start_ms=parse_start(args.start),
        max_speed=args.max_speed,
        reference=not args.no_reference,
        metrics_port=args.metrics_port,
        duration_s=args.duration if count is None else None,
        drill_every_s=args.drill_every if args.demo else None,
        play_departments=args.play_departments,
    )


def _scenario_args(args: argparse.Namespace) -> ScenarioArgs:
    if args.list and args.name:
        raise UsageError("give --name or --list, not both")
    if not args.list and not args.name:
        raise UsageError("give --name NAME (or --list to name the scenarios)")
    if not args.skip_hours >= 0:
        raise UsageError(f"--skip-hours must not be negative, got {args.skip_hours:g}")
    return ScenarioArgs(
        name=args.name,
        list_only=args.list,
        seed=args.seed,
        speed=parse_speed(args.speed),
        end_ms=parse_start(args.start),
        skip_hours=args.skip_hours,
        reference=not args.no_reference,
        folder=args.scenarios,
    )


def parse_speed(text: str) -> float | None:
    """None for 'max', else a positive factor of real time.

    >>> parse_speed("max"), parse_speed("60")
    (None, 60.0)
    """
    if text.strip().lower() == "max":
        return None
    try:
        speed = float(text)
    except ValueError:
        raise UsageError(f"--speed must be 'max' or a positive number, got {text!r}") from None
    if not 0 < speed < float("inf"):
        raise UsageError(f"--speed must be 'max' or a positive number, got {text!r}")
    return speed


def _count(count: int | None, duration: float | None, rate: float | None) -> int | None:
    """The count of events asked for: ``--count``, or ``--duration`` at a given rate (None
    until the rate is known)."""
    if count is not None and duration is not None:
        raise UsageError("give --count or --duration, not both")
    if count is not None:
        if count < 1:
            raise UsageError(f"--count must be at least 1, got {count}")
        return int(count)
    if duration is not None:
        if not duration > 0:
            raise UsageError(f"--duration must be positive, got {duration:g}")
        return None if rate is None else max(1, round(duration * rate))
    return None


def parse_start(text: str | None) -> int | None:
    """Epoch ms of an ISO 8601 time (naive means UTC); None for 'now' or nothing.

    >>> parse_start("2025-11-26T00:00:00Z")
    1764115200000
    """
    if text is None or text.strip().lower() == "now":
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(f"--start {text!r} is not an ISO 8601 time or 'now'") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


def resolve_start(run: RunArgs, now_ms: int) -> int:
    """The first event time: as given; else now, or at max speed with a known count, early
    enough that the last event is no later than now (so none lies in the future)."""
    if run.start_ms is not None:
        return run.start_ms
    if run.max_speed and run.count is not None and run.rate is not None:
        return now_ms - int(run.count * 1000 / run.rate)
    return now_ms
