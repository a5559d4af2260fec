"""``citybrain-sim``: simulate the city's sensors and case reports into Kafka.

citybrain-sim run --seed 1 --rate 1000 --duration 60 --malformed 0.01
citybrain-sim reference --seed 1
citybrain-sim city --seed 1
citybrain-sim scenario --name flood [--seed 7] [--speed max|1|60] [--start ISO|now]
citybrain-sim scenario --list
"""

from __future__ import annotations

import itertools
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import orjson
from clickhouse_driver.errors import Error as ClickHouseError
from kafka.errors import KafkaError
from prometheus_client import CollectorRegistry, start_http_server

from infra.settings import SettingsError, SimSettings, WorkerSettings, load
from sensors_sim import cli, scenario_play
from sensors_sim.city import CityModel, build_city
from sensors_sim.drill_record import DrillRecorder
from sensors_sim.drills import DrillSchedule, announced
from sensors_sim.generator import (
    SimEvent,
    cadence_rate,
    event_time,
    generate,
    run_rate,
    sensor_streams,
    visit_cycle_s,
)
from sensors_sim.producer import (
    Pace,
    Publisher,
    SimMetrics,
    Tally,
    ensure_topics,
    make_producer,
    pump,
)
from sensors_sim.reference import write_reference
from sensors_sim.scenario import SCENARIOS_DIR, ScenarioError, describe, scenario_names
from sensors_sim.summary import city_summary, city_text, run_summary

SERVICE_ERRORS = (KafkaError, ClickHouseError, OSError)


def main(argv: list[str] | None = None) -> int:
    """Run one command; 0 on success, 1 when a service failed, 2 on a bad command line."""
    try:
        command = cli.parse(argv)
        if command.name == "city":
            return _city_command(command, sys.stdout)
        if command.name == "scenario":
            return _scenario_command(command, sys.stdout, sys.stderr)
        settings = load(SimSettings)
    except (cli.UsageError, SettingsError, ScenarioError) as exc:
        print(f"{cli.PROG}: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    try:
        if command.name == "reference":
            return _reference_command(command, settings, sys.stdout)
        assert command.run is not None
        return _run_command(command.city, command.run, settings, sys.stdout, sys.stderr)
    except SERVICE_ERRORS as exc:
        print(f"{cli.PROG}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


def make_city(args: cli.CityArgs) -> CityModel:
    """The city the arguments describe."""
    return build_city(
        args.seed, args.districts, args.streets, args.grid_rows, args.grid_cols,
        args.sensors_per_cell,
    )  # fmt: skip


def _city_command(command: cli.Command, out: TextIO) -> int:
    city = make_city(command.city)
    if command.as_json:
        out.write(orjson.dumps(city_summary(city, command.city.seed)).decode() + "\n")
    else:
        out.write(city_text(city, command.city.seed))
    return 0


def _reference_command(command: cli.Command, settings: SimSettings, out: TextIO) -> int:
    written = write_reference(settings, make_city(command.city))
    line = {
        "database": written.database, "areas": written.areas, "sources": written.sources,
        "catalog": written.catalog,
    }  # fmt: skip
    out.write(orjson.dumps(line).decode() + "\n")
    return 0


def _scenario_command(command: cli.Command, out: TextIO, err: TextIO) -> int:
    """List the scenarios, or play one (ScenarioError: it cannot be played as asked)."""
    args = command.scenario
    assert args is not None
    folder = Path(args.folder) if args.folder else SCENARIOS_DIR
    if args.list_only:
        for name in scenario_names(folder):
            out.write(describe(name, folder) + "\n")
        return 0
    assert args.name is not None
    settings = load(SimSettings)
    worker = load(WorkerSettings)  # the bounds the worker applies, from the same environment
    bounds = scenario_play.Bounds(
        max_age_ms=worker.worker_max_age_s * 1000, max_future_ms=worker.worker_max_future_s * 1000
    )
    play = scenario_play.Play(
        args.name, args.seed, args.speed, args.end_ms, args.skip_hours, args.reference, folder
    )
    stop = threading.Event()
    try:
        with _stop_on_signals(stop):
            return scenario_play.run(
                play, settings, bounds, lambda: make_city(command.city), stop, out, err
            )
    except SERVICE_ERRORS as exc:
        err.write(f"{cli.PROG}: {type(exc).__name__}: {exc}\n")
        return 1


def _run_command(
    city_args: cli.CityArgs, run: cli.RunArgs, settings: SimSettings, out: TextIO, err: TextIO
) -> int:
    city = make_city(city_args)
    if run.reference:
        written = write_reference(settings, city)
        err.write(f"{cli.PROG}: reference: {written.areas} areas, {written.sources} sources\n")
    registry = _serve_metrics(
        settings.sim_metrics_port if run.metrics_port is None else run.metrics_port,
        settings.metrics_addr,
    )
    ensure_topics(settings)
    run = _with_rate(run, city, city_args.seed, err)
    assert run.rate is not None
    start_ms = cli.resolve_start(run, int(time.time() * 1000))
    drills = None
    if run.drill_every_s is not None:
        drills = DrillSchedule.for_city(city, city_args.seed, start_ms, run.drill_every_s)
    events: Iterable[SimEvent] = generate(
        city, city_args.seed, start_ms, run.rate, run.count, run.malformed, run.case_fraction,
        drills, run.play_departments,
    )  # fmt: skip
    if drills is not None:
        recorder = DrillRecorder(settings, err)
        times = (event_time(start_ms, run.rate, i) for i in itertools.count())
        events = announced(events, times, drills, recorder.record)
    tally, seconds = _produce(events, settings, registry, Pace.at(run.rate, run.max_speed), err)
    out.write(orjson.dumps(run_summary(tally, seconds, run.rate)).decode() + "\n")
    out.flush()
    return 0 if tally.send_errors == 0 else 1


def _with_rate(run: cli.RunArgs, city: CityModel, seed: int, err: TextIO) -> cli.RunArgs:
    """The run at its ``--rate``, else at the city's cadence rate (said on ``err``)."""
    if run.rate is not None:
        return run.at_rate(run.rate)
    streams = sensor_streams(city, seed)
    rate = run_rate(cadence_rate(streams), run.malformed, run.case_fraction)
    err.write(
        f"{cli.PROG}: rate {rate:.2f} events/s: {len(streams)} sensor streams, each at its "
        f"cadence (one cycle of {visit_cycle_s(streams)} s); --rate overrides\n"
    )
    return run.at_rate(rate)


def _serve_metrics(port: int, addr: str) -> CollectorRegistry:
    """A fresh registry, served over HTTP on ``addr``:``port`` unless the port is 0 (the
    address is CITYBRAIN_METRICS_ADDR, loopback by default, as for every process)."""
    registry = CollectorRegistry()
    if port:
        start_http_server(port, addr=addr, registry=registry)
    return registry


def _produce(
    events: Iterable[SimEvent],
    settings: SimSettings,
    registry: CollectorRegistry,
    pace: Pace,
    err: TextIO,
    clock: Callable[[], float] = time.monotonic,
) -> tuple[Tally, float]:
    """Publish until the events run out or a signal comes; flush; (tally, seconds)."""
    tally = Tally()
    metrics = SimMetrics(registry)
    publisher = Publisher(make_producer(settings), settings.kafka_topic_prefix, metrics, tally)
    stop = threading.Event()
    started = clock()

    def progress() -> None:
        err.write(_progress_line(tally, clock() - started))
        err.flush()

    with _stop_on_signals(stop):
        pump(events, publisher, pace, stop, progress)
        publisher.close()
    return tally, clock() - started


def _progress_line(tally: Tally, seconds: float) -> str:
    rate = tally.handed / seconds if seconds > 0 else 0.0
    return (
        f"{cli.PROG}: {tally.handed} handed, {tally.sent} acknowledged "
        f"({tally.malformed} malformed), {tally.send_errors} errors, {rate:.0f} events/s\n"
    )


@contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` (the run then flushes and reports) while inside."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda _signum, _frame: stop.set())
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


if __name__ == "__main__":
    raise SystemExit(main())
