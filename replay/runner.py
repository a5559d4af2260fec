"""``citybrain-replay run``: check, then replay a range into its own namespace through the
same worker the live pipeline runs, and summarise.

Every check that can refuse the replay runs before the first write: a refused replay
leaves no row, no database and no topic behind.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import yaml

from detectors.contract.events import Family
from infra.clickhouse import connect, ensure_schema
from infra.settings import ReplaySettings
from infra.topics import merged_topic
from replay.catalog import FAILED, FINISHED, Catalog, ReplayRecord, new_record
from replay.cli import RunArgs, Selection
from replay.kafka_source import KafkaSource
from replay.monitor import Monitor, ReplayFailed
from replay.namespace import Namespace, namespace
from replay.pacing import EventPacer
from replay.produce import ReplaySender, make_producer, pump
from replay.progress import RunSummary
from replay.sources import ClickHouseSource, Extent, Source
from replay.store import create_namespace, owned_topics, table_counts
from replay.worker import ReplayWorker, worker_env


class Refused(ValueError):
    """The replay cannot start as asked; nothing was written."""


@dataclass(frozen=True)
class Plan:
    """A checked replay, ready to run."""

    args: RunArgs
    ns: Namespace
    source: Source
    extent: Extent
    config_text: str
    config_file: Path | None


def make_source(settings: ReplaySettings, selection: Selection) -> Source:
    if selection.source == "kafka":
        return KafkaSource(settings.kafka_bootstrap, settings.kafka_topic_prefix, selection)
    return ClickHouseSource(
        lambda: connect(settings, database=""), settings.clickhouse_database, selection,
        settings.replay_chunk_rows,
    )  # fmt: skip


def read_config(path: Path | None) -> tuple[Path | None, str]:
    """The detector configuration a replay runs with, and its text ('' for the defaults):
    ``path``, else the live worker's own (CITYBRAIN_DETECTOR_CONFIG, inherited by the
    replay's worker). It must be a YAML mapping."""
    if path is None:
        configured = os.environ.get("CITYBRAIN_DETECTOR_CONFIG")
        if not configured or not Path(configured).is_file():
            return None, ""
        path = Path(configured).resolve()
    text = path.read_text()
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Refused(f"detector configuration {path}: not YAML: {exc}") from None
    if doc is not None and not isinstance(doc, dict):
        raise Refused(f"detector configuration {path}: expected a YAML mapping")
    return path, text


def plan(args: RunArgs, settings: ReplaySettings) -> Plan:
    """Check everything a replay needs, writing nothing; Refused says what is wrong."""
    ns = namespace(args.name)
    catalog = Catalog(lambda: connect(settings, database=""), settings.clickhouse_database)
    if settings.clickhouse_database not in catalog.databases():
        raise Refused(f"the live database {settings.clickhouse_database} does not exist")
    check_name_free(settings, catalog, ns)
    if args.selection.districts:
        known = catalog.districts()
        unknown = sorted(set(args.selection.districts) - known)
        if unknown:
            listed = ", ".join(sorted(known)) or "none"
            raise Refused(f"unknown district {', '.join(unknown)} (known: {listed})")
    config_file, config_text = read_config(args.detector_config)
    source = make_source(settings, args.selection)
    extent = source.extent()
    if extent.messages == 0:
        raise Refused(f"no data in the range{_filters(args.selection)}: nothing to replay")
    return Plan(args, ns, source, extent, config_text, config_file)


def check_name_free(settings: ReplaySettings, catalog: Catalog, ns: Namespace) -> None:
    """Refuse a name in use: by a replay that is not deleted, or by leftovers."""
    existing = catalog.get(ns.name)
    if existing is not None:
        raise Refused(
            f"replay name {ns.name!r} is taken ({existing.status}, created "
            f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(existing.created_at))} UTC); "
            f"delete it first or choose another name"
        )
    if ns.database in catalog.databases():
        raise Refused(f"replay name {ns.name!r} is taken: database {ns.database} exists")
    if owned_topics(settings, ns):
        raise Refused(f"replay name {ns.name!r} is taken: topics {ns.topic_prefix}.* exist")


def _filters(selection: Selection) -> str:
    parts = []
    if selection.districts:
        parts.append("districts " + ",".join(selection.districts))
    if selection.families:
        parts.append("families " + ",".join(f.value for f in selection.families))
    return f" with {' and '.join(parts)}" if parts else ""


def execute(plan: Plan, settings: ReplaySettings, err: TextIO) -> RunSummary:
    """Run a checked replay to its end; the replays row says how it went."""
    ensure_schema(settings)  # the live database may predate the replays table
    catalog = Catalog(lambda: connect(settings, database=""), settings.clickhouse_database)
    record = catalog.write(new_record(plan.args, plan.config_text, plan.config_file))
    home = Path(settings.replay_dir) / plan.ns.name
    env = worker_env(os.environ, plan.ns, home / "worker-data", plan.args.detector_config,
                     validated=plan.args.selection.source == "clickhouse")  # fmt: skip
    worker = ReplayWorker(env, home / "worker.log")
    try:
        create_namespace(settings, plan.ns)
        worker.start()
        summary = _replay(plan, settings, worker, err)
    except BaseException as exc:
        worker.stop()
        reason = "interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        catalog.write(record.changed(status=FAILED, message=reason[:2000],
                                     finished_at=int(time.time())))  # fmt: skip
        raise
    if not plan.args.keep_running:
        worker.stop()
    catalog.write(_finished(record, summary, int(time.time())))
    return summary


def _replay(plan: Plan, settings: ReplaySettings, worker: ReplayWorker, err: TextIO) -> RunSummary:
    monitor = Monitor(settings, plan.ns, worker, plan.extent.messages, err,
                      settings.replay_stall_timeout_s)  # fmt: skip
    merged = merged_topic(plan.ns.topic_prefix)
    sender = ReplaySender(make_producer(settings.kafka_bootstrap),
                          {family: merged for family in Family})  # fmt: skip
    pacer = EventPacer(plan.args.speed)
    started = time.monotonic()

    def tick() -> None:
        left = pacer.remaining_s(sender.tally.last_ts_ms, plan.extent.last_ms)
        monitor.tick(sender.tally.handed, left)

    try:
        pump(plan.source.messages(), sender, pacer, tick)
    finally:
        sender.close()
    produce_s = time.monotonic() - started
    tally = sender.tally
    if tally.failed:
        raise ReplayFailed(f"{tally.failed} of {tally.handed} messages were not delivered to "
                           f"Kafka: {tally.first_error}")  # fmt: skip
    monitor.wait_done(tally.delivered, [merged])
    seconds = time.monotonic() - started
    counts = table_counts(settings, plan.ns.database)
    return RunSummary(
        name=plan.ns.name, status=FINISHED, database=plan.ns.database,
        topic_prefix=plan.ns.topic_prefix, events=tally.delivered, bytes=tally.bytes,
        seconds=seconds, produce_seconds=produce_s, raw_rows=counts["events_raw"],
        case_rows=counts["cases_raw"], rollup_rows=counts["rollups_1m"],
        dead_letters=counts["dead_letters"], alert_events=counts["alert_events"],
        alerts_raised=counts["alerts_raised"],
        worker_pid=worker.pid if plan.args.keep_running else None,
    )  # fmt: skip


def _finished(record: ReplayRecord, summary: RunSummary, now_s: int) -> ReplayRecord:
    message = (
        f"{summary.events} events in {summary.seconds:.1f} s ({summary.events_per_s:.0f}/s); "
        f"{summary.raw_rows} raw, {summary.case_rows} cases, {summary.dead_letters} dead "
        f"letters, {summary.alerts_raised} alerts"
    )
    if summary.worker_pid is not None:
        message += f"; its worker (pid {summary.worker_pid}) keeps running"
    return record.changed(status=FINISHED, events=summary.events, bytes=summary.bytes,
                          finished_at=now_s, worker_pid=summary.worker_pid or 0,
                          message=message)  # fmt: skip
