"""The topology: one Faust app with two agents.

- ``ingest`` takes batches from every family topic: store (validate, dead-letter, roll up,
  write ClickHouse), then detect, sending the decisions that can change an alert
  (:mod:`detectors.alerting.changes`), event-time ticks and case events (whose clocks the
  alert engine watches) to the one-partition alerting topic; detector state is snapshotted
  into the ``detector_state`` table. With ``CITYBRAIN_WORKER_DETECTION=off`` it only
  stores.
- ``alerting`` runs the city's alert engine over decisions and operator actions, writes the
  alert tables, publishes alert events and snapshots itself into the ``alert_engine`` table.

Agents are short adapters; the work is in pipeline, detection and alerting. Each agent
acks its events only at a checkpoint (every ``CITYBRAIN_WORKER_SNAPSHOT_INTERVAL_S``, and at
a stop), after its state is in its table and the producer has delivered it, so a table
snapshot or a decision is never behind the committed offsets: a restart re-reads what the
restored state has not learnt (the alerting stage skips what its snapshot says it applied).
"""

from __future__ import annotations

import asyncio
import gc
import hashlib
import logging
import math
import os
import socket
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
import orjson

from detectors.alerting.changes import Step
from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import Decision
from detectors.contract import dead_letter
from detectors.contract.events import Family
from detectors.contract.tables import (
    ALERT_EVENTS,
    ALERTS_CURRENT,
    CASE_STEPS,
    CASES_RAW,
    SILENCES,
    STAGE_CHANGES,
)
from detectors.scoring.base import collector_paused
from infra.catalog import CatalogStore
from infra.clickhouse import connect
from infra.settings import WorkerSettings
from infra.topics import (
    alert_actions_topic,
    alerting_topic,
    alerts_topic,
    all_family_topics,
    dead_letter_topic,
    merged_topic,
)
from streams import alert_rows, state_store
from streams.alerting import (
    AlertingStage,
    idle_to_json,
    notice,
    pack_snapshot,
    step_to_json,
    unpack_snapshot,
)
from streams.batch import Message
from streams.case_steps import case_states, cases_raw_rows, step_rows
from streams.catalog_feed import CatalogFeed
from streams.detection import Detection, Item, newest_only
from streams.detector_config import load as load_detector_config
from streams.event_time import EventTimeMerge
from streams.indicators import IndicatorRunner, IndicatorStore
from streams.intake import AlertIntake
from streams.metrics import WorkerMetrics
from streams.pipeline import PartitionsMoved, Pipeline
from streams.progress import PositionWatch, ProgressWatch
from streams.sink import ClickHouseSink
from streams.train import load_models
from streams.transport import App, InlineTransport, Transport
from streams.watchdog import LoopWatchdog, consumer_report, fetch_positions, task_report

log = logging.getLogger(__name__)

ENGINE_KEY = "city"
STOP_BATCH_WAIT_S = 6.0
"""At stop, how long the batch in hand may take to be stored (a stop must end within 10 s;
past this, e.g. with ClickHouse down, that batch is left to the next start)."""
STALL_S = 60.0
"""An input partition not read further for this long, with messages unread, is warned of."""
UNSEEN_HOLD_S = 15.0
"""How long an input partition assigned and not yet read holds detection back at most, from
the worker's first read after the assignment (see
:meth:`streams.event_time.EventTimeMerge.expect`); one with nothing to read stops holding
as soon as the consumer knows it."""
IDLE_S = 10.0
"""A worker that has sent the alert engine nothing for this long, with nothing unread,
says its partitions are idle (see :class:`streams.alerting.Watermark`)."""


def worker_name() -> str:
    """host:pid, stored with each dead letter to tell workers apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


def instance_id(settings: WorkerSettings) -> str:
    """The worker's static member id in its consumer group: as set, else the same for every
    start of the worker on this host with this data dir (its local state), and different
    for two workers, which cannot share a data dir."""
    if settings.worker_instance_id:
        return settings.worker_instance_id
    place = os.path.abspath(settings.worker_data_dir).encode()
    return f"{settings.worker_app_id}@{socket.gethostname()}-{hashlib.sha1(place).hexdigest()[:10]}"


def internal_topics(app: faust.App) -> dict[str, tuple[int, dict[str, str]]]:
    """Faust's own topics of the app, as Faust declares them: each table's changelog
    (compacted, the table's partitions) and the leader assignor's (one partition)."""
    topics: dict[str, tuple[int, dict[str, str]]] = {f"{app.conf.id}-__assignor-__leader": (1, {})}
    for table in app.tables.values():
        partitions = table.partitions or app.conf.topic_partitions
        topics[table.changelog_topic.get_topic_name()] = (partitions, {"cleanup.policy": "compact"})
    return topics


def to_message(event: Any) -> Message:
    """The parts of a Faust event the pipeline needs."""
    msg = event.message
    return Message(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        timestamp_ms=int(msg.timestamp * 1000),
        key=msg.key,
        value=msg.value if isinstance(msg.value, bytes) else bytes(msg.value or b""),
    )


def input_topics(settings: WorkerSettings) -> dict[str, Family | None]:
    """The topics the worker consumes and the family each carries (None: any, merged)."""
    prefix = settings.kafka_topic_prefix
    if settings.worker_input == "merged":
        return {merged_topic(prefix): None}
    return {name: family for family, name in all_family_topics(prefix).items()}


def create_app(
    settings: WorkerSettings,
    metrics: WorkerMetrics | None = None,
    sink: ClickHouseSink | None = None,
) -> faust.App:
    """Build the worker app; nothing connects until it starts. A bad detector
    configuration raises ConfigError."""
    config = load_detector_config(settings.detector_config)
    metrics = metrics or WorkerMetrics.create()
    sink = sink or ClickHouseSink(lambda: connect(settings))
    prefix = settings.kafka_topic_prefix
    app = App(
        settings.worker_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store=f"{settings.worker_store}://",
        datadir=settings.worker_data_dir,
        web_enabled=False,
        consumer_group_instance_id=instance_id(settings),
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=settings.kafka_replication_factor,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=max(4096, 2 * settings.worker_batch_size),
        broker_commit_interval=settings.worker_commit_interval_s,
        broker_session_timeout=settings.worker_session_timeout_s,
        producer_acks=-1,
        # Faust would wait at stop until every delivered message is acked, but events held
        # for event-time order or buffered unread never are: ``finish`` stops cleanly instead.
        stream_wait_empty=False,
    )
    # records a seek has superseded are not delivered; delivery inline by default: see
    # streams/transport.py
    chosen = InlineTransport if settings.worker_delivery == "inline" else Transport
    app.transport = chosen(app.conf.broker_consumer, app)
    raw: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
    family_of_topic = input_topics(settings)
    source = app.topic(*family_of_topic, **raw)
    dead_letters = app.topic(dead_letter_topic(prefix), **raw)
    alerting_in = app.topic(alerting_topic(prefix), alert_actions_topic(prefix),
                            partitions=1, **raw)  # fmt: skip
    alerting_out = app.topic(alerting_topic(prefix), partitions=1, **raw)
    alerts_out = app.topic(alerts_topic(prefix), **raw)
    detector_state = app.Table("detector_state", default=None, partitions=settings.kafka_partitions)
    engine_state = app.Table("alert_engine", default=None, partitions=1)
    pipeline = Pipeline(
        sink, metrics, family_of_topic,
        worker_name=worker_name(),
        max_future_s=settings.worker_max_future_s,
        max_age_s=settings.worker_max_age_s,
        registry_refresh_s=settings.worker_registry_refresh_s,
        window_retention_s=settings.worker_window_retention_s,
    )  # fmt: skip
    detection: list[Detection] = []  # built on the first batch, once the registry is known

    async def send_dead(dead: Sequence[tuple[Message, Any]]) -> None:
        deliveries = []
        for m, inv in dead:  # the contract's cap keeps each under the producer's limit
            kept = dead_letter.keep(m.value)
            deliveries.append(await dead_letters.send(
                key=dead_letter.message_key(m.topic, m.partition, m.offset), value=kept.raw,
                headers=dead_letter.headers(inv.reason, inv.detail, m.topic, m.partition,
                                            m.offset, kept),
            ))  # fmt: skip
        if deliveries:
            await asyncio.gather(*deliveries)

    detecting_on = settings.worker_detection == "on"
    models, problems = load_models(Path(settings.worker_model_dir)) if detecting_on else ({}, [])
    for problem in problems:
        log.warning("model file refused: %s", problem)
    if models:
        log.info("multivariate models loaded: %s", ", ".join(m.model_id for m in models.values()))
    if not detecting_on:
        log.info("detection off: storing only, nothing is sent to the alert engine")

    adopted: list[Any] = [None]  # the registry the detectors last adopted
    catalog = CatalogFeed(CatalogStore(lambda: connect(settings), settings.clickhouse_database
                                       ).in_force, settings.worker_registry_refresh_s)  # fmt: skip

    owned: set[tuple[str, int]] = set()  # the partitions assigned to this worker just now

    def held() -> list[int]:
        """The input partitions this worker holds (the same numbers on every input topic,
        which Faust assigns together, with the detector table's), as the consumer has them
        (set before Faust's assignment signal, which ``owned`` follows)."""
        try:
            assigned = app.consumer.assignment()
        except Exception:  # not started, or rebalancing
            return []
        return sorted({tp.partition for tp in assigned if tp.topic in family_of_topic})

    def detector() -> Detection:
        registry, profiles = pipeline.registry, pipeline.profiles
        if not detection:
            detection.append(Detection.for_registry(
                registry, models, profiles, config.neighbours, config.monitor.get("cool_after"),
                config.policy(),
            ))  # fmt: skip
            layout = state_store.by_partition(detector_state.data.items(), held())
            kept, stale = newest_only(layout.entries)
            for part, entries in kept.items():
                detection[0].restore(entries, part)
            tick = detection[0].next_tick_ms
            log.info("detector state restored: %d entries of input partitions %s; event time "
                     "resumes at %s", sum(map(len, kept.values())), sorted(kept),
                     "its first reading" if tick is None else
                     datetime.fromtimestamp(tick / 1000, UTC).isoformat())  # fmt: skip
            for part, key in stale:  # deleted: never restored over the newer entry again
                state_store.put(detector_state, part, state_store.table_key(part, key), {})
            if stale:
                log.warning("%d detector-state entries were also kept in another "
                            "partition with later readings: those restored, these deleted",
                            len(stale))  # fmt: skip
            if layout.older:  # a warning only if a series lost its state to it
                log.log(logging.WARNING if layout.afresh else logging.INFO,
                        "%d detector-state entries of an older layout (not placed by "
                        "partition) passed over: %d superseded by newer entries, %d series "
                        "learn afresh", layout.older, layout.older - layout.afresh,
                        layout.afresh)  # fmt: skip
            # The banks just built are most of the heap and live as long as the worker:
            # kept out of every later collection, as the start-up objects are (__main__).
            gc.freeze()
        elif adopted[0] is not registry:
            detection[0].add_sources(registry, profiles)
        adopted[0] = registry
        return detection[0]

    async def send_steps(steps: Sequence[Step], after: int | None) -> None:
        """Send detection's steps to the alert engine, each with the worker's input
        partitions (ticks) or the last tick before it (``after`` for the first)."""
        parts = held()
        changes = detection[0].changes
        for step in steps:
            seq = changes.stamp(step.key) if isinstance(step, Decision) else None
            raw = step_to_json(step, parts, after, seq)
            await alerting_out.send(key=ENGINE_KEY.encode(), value=raw)
            after = step if isinstance(step, int) else after
        metrics.decisions.inc(sum(1 for step in steps if isinstance(step, Decision)))
        if steps:
            idle[0] = time.monotonic()

    async def save_detection() -> None:
        if detection:
            # held repeats go now, so that an operator's resolve waits at most this long
            # for the alert to be raised again (the snapshot would keep them otherwise)
            await send_steps(detection[0].changes.flush(), detection[0].last_tick_ms)
            # The snapshot is tens of containers per series changed, and no cycle: built,
            # encoded and dropped with the collector kept out (its young collections would
            # walk them all again; see detectors.scoring.base.collector_paused)
            with collector_paused():
                put_snapshot(detection[0].snapshot(held()))

    def put_snapshot(snapshot: dict[int, dict[str, Any]]) -> None:
        for part, entries in snapshot.items():
            for key, entry in entries.items():  # each in its input partition's place
                state_store.put(detector_state, part, state_store.table_key(part, key), entry)

    checkpoint = Checkpoint(settings.worker_snapshot_interval_s, save_detection)
    # each valid event with what to detect in it; an event with nothing to detect (None)
    # waits behind its partition's readings, so that it is never acked before them
    merge: EventTimeMerge[tuple[Any, Item | None]] = EventTimeMerge(
        settings.worker_partition_idle_s
    )
    read_to: dict[Any, int] = {}  # the last offset read of each partition
    lag: dict[Any, int] = {}  # the messages left unread on each partition
    moved = [time.monotonic()]  # when detection last released readings (or had none queued)
    detecting = asyncio.Lock()  # the agent and the timers release readings and send decisions
    working = asyncio.Lock()  # held while the agent stores and detects a batch
    stopping = asyncio.Event()

    def note_lag() -> None:
        """Each partition's lag, for the event-time merge and the consumer_lag metric; an
        assigned partition not read yet stops holding the others once the consumer knows
        it has nothing to read (see EventTimeMerge.expect)."""
        consumer: Any = app.consumer  # Faust's own bookkeeping: no public view of commits
        for tp in [tp for tp in merge.expected() if tp not in read_to]:  # read: told below
            try:
                highwater = consumer.highwater(tp)
                committed = consumer._committed_offset.get(tp)
            except Exception:  # rebalancing: looked at again at the next batch
                continue
            if highwater is not None and 0 <= highwater <= (committed or 0):
                merge.read_to(tp, 0)  # nothing to read: it holds no longer than an idle one
                lag[tp] = 0
        for tp, offset in read_to.items():
            try:
                highwater = app.consumer.highwater(tp)
            except Exception:  # rebalancing: what we knew still holds
                continue
            if highwater is not None and highwater >= 0:
                merge.read_to(tp, highwater - offset - 1)
                lag[tp] = highwater - offset - 1
                metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(highwater - offset - 1)

    def current(message: Any) -> bool:
        """Whether ``message`` is of a partition held and was read since the last
        rebalance (Faust's batches of ``noack_take`` keep events through one)."""
        generation = app.consumer_generation_id
        return (message.topic, message.partition) in owned and (
            getattr(message, "generation_id", generation) == generation
        )

    def taken_since_rebalance(events: Sequence[Any], agent: str) -> list[Any]:
        """``events`` less those :func:`current` rejects: taken before the last rebalance
        (or of a partition given away), they are never stored, detected, applied or acked
        here, and come again, in order, after the commit their partition was sought back
        to. Handled now, ahead of the earlier events read again before them, they made the
        detectors pass those over as learnt, and the engine pass decisions over as repeats."""
        kept = [e for e in events if current(e.message)]
        if len(kept) < len(events):
            log.info("%s: %d events read before the last rebalance left unacked, to be read "
                     "again", agent, len(events) - len(kept))  # fmt: skip
        return kept

    def queue(events: Sequence[Any], validated: Any) -> list[Any]:
        """Queue the batch's valid events for detection (none with detection off); the
        events with nothing to detect. Events of a partition revoked while the batch was
        stored are left alone: never acked, the partition's new owner reads them again
        (queued, a partition this worker no longer reads would hold the others back). So are
        events of a rebalance that came while the batch was stored (see
        :func:`taken_since_rebalance`)."""
        items = {(m.topic, m.partition, m.offset): item
                 for m, item in validated.ordered} if detecting_on else {}  # fmt: skip
        done = []
        resumed: dict[Any, int] = {}  # the partitions first read since the assignment
        for event in events:  # in consumption order: each partition's own
            message = event.message
            if not current(message):
                continue
            if message.tp not in read_to:
                resumed.setdefault(message.tp, message.offset)
            read_to[message.tp] = message.offset
            item = items.get((message.topic, message.partition, message.offset))
            if item is not None:
                merge.add(message.tp, item.ts_ms, (event, item))
            # nothing to detect (a dead letter, a repeat): it waits behind its partition's
            # queued readings, if any (acked before them, the consumer's commit would pass
            # over them, and a restart or a rebalance would never detect them)
            elif not (detecting_on and merge.follow(message.tp, (event, None))):
                done.append(event)
        if resumed:  # where each resumes (its commit, unless something was lost or doubled)
            firsts = (f"{tp.topic}/{tp.partition}@{offset}" for tp, offset in resumed.items())
            log.info("first read since the assignment: %s", ", ".join(firsts))
        note_lag()
        stray = [e.message for e in events if not current(e.message)]
        if stray:  # if this worker does hold them after all, its commits stop there
            where = ", ".join(sorted({f"{m.topic}/{m.partition}" for m in stray}))
            log.info("%d events of partitions not held (%s), or read before the last "
                     "rebalance, left unacked to be read again", len(stray), where)  # fmt: skip
        return done

    async def detect(done: list[Any], final: bool = False) -> None:
        """Release what event-time order allows (``final``: everything), detect on it, send
        the decisions and ticks; ``done`` are events with nothing to detect (acked with the
        released)."""
        if not detecting_on:
            checkpoint.processed(done)
            return
        released = merge.release(final=final)
        lapsed: list[Any] = merge.lapsed()
        if lapsed:
            log.warning("detection goes on without %s: assigned and not read for %.0f s since "
                        "reading began (a sensor of theirs may be judged silent)",
                        ", ".join(f"{tp.topic}/{tp.partition}" for tp in lapsed),
                        UNSEEN_HOLD_S)  # fmt: skip
        if released or not merge.pending():
            moved[0] = time.monotonic()
        det = detector()
        det.adopt_catalog(catalog.entries)  # promises are judged by the catalog in force
        before, after, gaps = det.redelivered, det.last_tick_ms, det.gaps
        done = [*done, *(event for event, item in released if item is None)]
        detected = [(event, item) for event, item in released if item is not None]
        events = [event.message for event, _ in detected]
        steps = det.process([item for _, item in detected], [m.partition for m in events],
                            [round(m.timestamp * 1000) for m in events])  # fmt: skip
        if det.redelivered > before:
            log.info("skipped %d re-delivered readings the detectors had learnt",
                     det.redelivered - before)  # fmt: skip
        metrics.decisions_made.inc(sum(1 for step in steps if isinstance(step, Decision)))
        metrics.input_gaps.inc(det.gaps - gaps)
        await send_steps(det.changes.select(steps), after)
        checkpoint.processed([*done, *(event for event, _ in detected)])

    @app.agent(source)
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        checkpoint.stream = stream
        async for events in stream.noack_take(  # type: ignore[attr-defined]
            settings.worker_batch_size, within=settings.worker_batch_within_s
        ):
            if stopping.is_set():
                continue  # never acked: the next start reads them again
            events = taken_since_rebalance(events, "ingest")
            if not events:
                continue
            async with working:
                busy["ingest"] = time.monotonic()
                messages = [to_message(e) for e in events]
                try:
                    validated = await pipeline.process(messages)
                except PartitionsMoved:  # read again where they are now, never acked here
                    log.info("a rebalance came while a batch of %d events was stored: it is "
                             "read again by the partitions' owners", len(events))  # fmt: skip
                    busy.pop("ingest", None)
                    continue
                await send_dead(validated.dead)
                await catalog.refresh_if_due()
                async with detecting:
                    await detect(queue(events, validated))
                    if checkpoint.due(20 * settings.worker_batch_size):
                        await checkpoint.commit(app)
                busy.pop("ingest", None)

    idle: list[float | None] = [time.monotonic()]  # when detection last sent; None: idle sent
    told_hold = [time.monotonic()]  # when a wait on a partition was last warned of

    @app.timer(interval=max(0.2, settings.worker_partition_idle_s / 2))  # type: ignore[untyped-decorator]
    async def release_when_idle() -> None:
        if not merge.pending():
            await tell_idle()
            return
        async with detecting:
            note_lag()
            await detect([])
            held_back = merge.holding() if merge.pending() else []
        now = time.monotonic()
        stuck = now - moved[0] >= STALL_S  # a partition behind for a moment is the norm live
        if held_back and stuck and now - told_hold[0] >= STALL_S:
            told_hold[0] = now
            log.warning("detection has released nothing for %.0f s: it waits for %s (not known "
                        "to be read to its end) with %d readings queued", now - moved[0],
                        ", ".join(map(str, held_back)), merge.pending())  # fmt: skip
            tell_tasks()

    async def tell_idle() -> None:
        """Tell the alert engine's clock not to wait for this worker's partitions once it
        has sent nothing for IDLE_S with nothing unread (with several workers, the clock is
        the lowest of their ticks)."""
        since = idle[0]
        if not detecting_on or since is None or time.monotonic() - since < IDLE_S:
            return
        note_lag()
        parts = held()
        # every input partition held, each known read to its end: one assigned and not read
        # yet (a takeover's) may hold a backlog, and the engine would stop waiting for it
        inputs = [tp for tp in owned if tp[0] in family_of_topic]
        if parts and inputs and all(lag.get(tp, 1) == 0 for tp in inputs):
            async with detecting:  # never amid a detect's ticks
                await alerting_out.send(key=ENGINE_KEY.encode(), value=idle_to_json(parts))
            idle[0] = None

    @app.timer(interval=5.0)  # type: ignore[untyped-decorator]
    async def refresh_catalog() -> None:  # an edit counts within the refresh time, idle or not
        await catalog.refresh_if_due()

    @app.timer(interval=settings.worker_snapshot_interval_s)  # type: ignore[untyped-decorator]
    async def checkpoint_when_idle() -> None:
        async with detecting:  # a commit sends held decisions: never amid a detect's sends
            if checkpoint.due(0):
                await checkpoint.commit(app)

    watchdog = LoopWatchdog(STALL_S / 2)
    told_tasks = [-math.inf]  # when where every task waits was last logged

    def tell_tasks() -> None:
        """With a stall's warning, where each task and thread waits (as SIGUSR1 logs it):
        at most once per 10 STALL_S, so a long stall is not a log of dumps."""
        now = time.monotonic()
        if now - told_tasks[0] >= 10 * STALL_S:
            told_tasks[0] = now
            log.warning("%s\n%s", task_report(asyncio.get_running_loop()), consumer_report(app))

    @app.timer(interval=1.0)  # type: ignore[untyped-decorator]
    async def beat() -> None:  # a loop that stops running these is told of from a thread
        watchdog.beat()
        watchdog.start()

    progress: ProgressWatch[Any] = ProgressWatch(STALL_S)
    busy: dict[str, float | None] = {}  # agent -> when it took the batch in hand
    watched = {*family_of_topic, alerting_topic(prefix), alert_actions_topic(prefix)}

    @app.timer(interval=10.0)  # type: ignore[untyped-decorator]
    async def watch_progress() -> None:
        """Warn of an assigned input partition that the consumer stopped reading (see
        :mod:`streams.progress`): its fetch position against its high watermark."""
        try:
            assigned = {tp for tp in app.consumer.assignment() if tp.topic in watched}
            now = time.monotonic()
            positions: dict[Any, int | None] = {}
            known = fetch_positions(app.consumer)  # None: not readable, ask the consumer
            for tp in assigned:
                if known is not None:
                    position = known.get(tp)
                else:
                    try:
                        position = await asyncio.wait_for(app.consumer.position(tp), 2.0)
                    except TimeoutError:  # none: aiokafka waits for one, fetching nothing
                        position = None
                positions[tp] = position
                highwater = app.consumer.highwater(tp)
                progress.observe(tp, position, highwater if highwater is not None and
                                 highwater >= 0 else None, now)  # fmt: skip
        except Exception:  # rebalancing, or the consumer is stopping: look again later
            return
        progress.forget(set(assigned))
        await seek_unpositioned(positions, now)
        await watch_commits(assigned, now, positions)
        for stall in progress.stalls(now):
            tp = stall.partition
            unread = "never fetched" if stall.unread is None else f"{stall.unread} unread"
            log.warning("input %s/%d not read further for %.0f s (%s)", tp.topic, tp.partition,
                        stall.since_s, unread)  # fmt: skip
            tell_tasks()
        for tp in progress.resumed():
            log.info("input %s/%d is read again", tp.topic, tp.partition)
        for agent, since in list(busy.items()):
            if since is not None and now - since >= STALL_S:
                busy[agent] = None  # told once per batch
                log.warning("the %s agent has been on one batch for %.0f s", agent, now - since)
                tell_tasks()

    unpositioned: PositionWatch[Any] = PositionWatch(STALL_S)

    async def seek_unpositioned(positions: dict[Any, int | None], now: float) -> None:
        """Read from its commit (its start, if it has none) an assigned partition the
        consumer has had no fetch position for since STALL_S: it would never be fetched,
        unseen by every other watch (see :class:`streams.progress.PositionWatch`). Not
        during a recovery, which positions the partitions at its end."""
        consumer: Any = app.consumer  # Faust's own bookkeeping: no public view of it
        for tp in unpositioned.observe({} if app.in_recovery else positions, now):
            committed = consumer._committed_offset.get(tp)
            start = "its start" if committed is None else f"its commit {committed}"
            log.warning("input %s/%d has had no fetch position for %.0f s, so nothing of it "
                        "is read: reading it from %s", tp.topic, tp.partition, STALL_S,
                        start)  # fmt: skip
            tell_tasks()
            try:
                # offset 0 below the log's start is reset to the start (earliest)
                await consumer.seek(tp, 0 if committed is None else committed)
            except Exception as exc:  # rebalancing: the next assignment positions it
                log.warning("could not position %s/%d: %r", tp.topic, tp.partition, exc)

    commits: ProgressWatch[Any] = ProgressWatch(STALL_S)

    async def watch_commits(
        assigned: set[Any], now: float, positions: dict[Any, int | None]
    ) -> None:
        """Warn of an input partition read further than it is committed, whose commit has
        not moved for STALL_S, with what Faust holds of it. When the offsets it waits for
        are in no hand (acked ones after a gap, nothing of it queued or unacked: a rebalance
        lost them between two reads), read the partition again from its commit: what was
        stored is recognised, and the commit can move."""
        consumer: Any = app.consumer  # Faust's own bookkeeping: no public view of it
        for tp in assigned:
            committed = consumer._committed_offset.get(tp)
            read = consumer._read_offset.get(tp)
            if committed is not None and read is not None:
                # Faust's read offset is the last one read, but after a seek the next one
                # to read: capped by the fetch position, a partition read to its commit
                # and quiet since is not taken for one with a message read and not committed
                upto = min(read + 1, positions.get(tp) or read + 1)
                commits.observe(tp, committed, upto, now)
        commits.forget(assigned)
        for stall in commits.stalls(now):
            tp = stall.partition
            committed = consumer._committed_offset.get(tp)
            acked = sorted(consumer._acked.get(tp) or ())
            in_hand = sum(1 for e in checkpoint.unacked if e.message.tp == tp) + merge.queued(tp)
            lost = bool(acked) and committed is not None and acked[0] > committed and not in_hand
            log.warning("input %s/%d not committed further for %.0f s: committed %s, read to %s, "
                        "%d acked after it (first %s), %d events in hand%s",
                        tp.topic, tp.partition, stall.since_s, committed,
                        consumer._read_offset.get(tp), len(acked), acked[0] if acked else None,
                        in_hand, ": reading it again from the commit" if lost else "")  # fmt: skip
            tell_tasks()
            if lost:
                try:
                    await consumer.seek(tp, committed)
                except Exception as exc:  # rebalancing: the next assignment reads from commits
                    log.warning("could not read %s/%d again: %r", tp.topic, tp.partition, exc)
        for tp in commits.resumed():
            log.info("input %s/%d is committed again", tp.topic, tp.partition)

    intake = AlertIntake(alerting_topic(prefix), alert_actions_topic(prefix))
    indicators = IndicatorRunner(
        IndicatorStore(lambda: connect(settings),
                       lambda: (pipeline.registry, pipeline.profiles, catalog.entries)),
        settings.worker_indicators_catchup_min,
    )  # fmt: skip

    stage: list[AlertingStage] = []  # built on the first batch, from the table if it has one

    async def save_alerting() -> None:
        if stage:
            for key, value in pack_snapshot(ENGINE_KEY, stage[0].snapshot()).items():
                state_store.put(engine_state, 0, key, value)

    alert_checkpoint = Checkpoint(settings.worker_snapshot_interval_s, save_alerting)
    alerting_work = asyncio.Lock()  # held while the agent applies a batch

    @app.agent(alerting_in)
    async def alerting(stream: faust.StreamT[bytes]) -> None:
        alert_checkpoint.stream = stream
        async for events in stream.noack_take(2000, within=0.5):  # type: ignore[attr-defined]
            if stopping.is_set():
                continue  # never acked: the next start applies them to the restored stage
            events = taken_since_rebalance(events, "alerting")
            if not events:
                continue
            async with alerting_work:
                busy["alerting"] = time.monotonic()
                await alerting_batch(events)
                alert_checkpoint.processed(events)
                if alert_checkpoint.due(20_000):
                    await alert_checkpoint.commit(app)
                busy.pop("alerting", None)

    async def alerting_batch(events: Sequence[Any]) -> None:
        if not stage:
            snap = unpack_snapshot(ENGINE_KEY, engine_state.data)
            inputs = range(settings.kafka_partitions)  # each ticks before the clock starts
            fresh = AlertingStage(AlertEngine(config.policy()), inputs)
            stage.append(AlertingStage.restore(snap, inputs) if snap else fresh)
        messages = [to_message(e) for e in events]
        wanted = intake.case_ids(stage[0], messages)
        cases = case_states(
            await pipeline.call("cases_raw", sink.load_case_states, wanted) if wanted else []
        )
        out, rejected, stages = intake.apply(stage[0], messages, cases)
        await write_alerts(stage[0], out, stages)
        if settings.worker_indicators == "on":
            indicators.advance(messages)  # computed in the background, see its module
        if rejected:
            dead = intake.dead_rows(rejected, worker_name())
            await pipeline.call("dead_letters", sink.write_dead_letters, dead)
            await send_dead(rejected)
        names = await pipeline.place_names() if out.events else {}
        for event in out.events:
            record = notice(event, names)
            await alerts_out.send(key=(event.alert_id or event.incident_id).encode(),
                                  value=orjson.dumps(record))  # fmt: skip
            metrics.alert_events.labels(event.kind).inc()

    @app.timer(interval=settings.worker_snapshot_interval_s)  # type: ignore[untyped-decorator]
    async def checkpoint_alerting_when_idle() -> None:
        async with alerting_work:
            if alert_checkpoint.due(0):
                await alert_checkpoint.commit(app)

    async def write_alerts(stage: AlertingStage, out: Any, stages: list[Any]) -> None:
        stage.remember_ended(out.events)
        created_ms = int(time.time() * 1000)
        rows = [
            (ALERT_EVENTS, alert_rows.event_rows(out, created_ms)),
            (ALERTS_CURRENT, alert_rows.current_rows(stage, out.events, created_ms)),
            (STAGE_CHANGES, stages),
            (SILENCES, alert_rows.silence_rows(stage, out)),
            (CASES_RAW, cases_raw_rows(out.case_steps, created_ms)),
            (CASE_STEPS, step_rows(out.case_steps)),
        ]
        for table, table_rows in rows:
            if table_rows:
                await pipeline.call(table.name, sink.insert, table, table_rows)

    @app.on_before_shutdown.connect  # type: ignore[arg-type]
    async def finish(sender: Any, **kwargs: Any) -> None:
        # Faust has stopped fetching. Take no new batch, let the one in hand be stored,
        # detect what event-time order still held, snapshot, ack and commit: a restart then
        # re-reads only what was never stored.
        stopping.set()
        await indicators.stop()
        started = time.monotonic()
        if await acquired_within(working, STOP_BATCH_WAIT_S):
            async with detecting:
                await detect([], final=True)
                await checkpoint.commit(app)
        else:
            log.warning("stopping without the batch in hand (not stored after %.0f s): "
                        "it is read again at the next start", STOP_BATCH_WAIT_S)  # fmt: skip
        left_s = max(0.5, STOP_BATCH_WAIT_S - (time.monotonic() - started))  # one budget
        if await acquired_within(alerting_work, left_s):
            await alert_checkpoint.commit(app)
        else:
            log.warning("stopping without the alerting batch in hand (not stored in time): "
                        "it is applied again at the next start")  # fmt: skip
        await app.consumer.commit()
        log.info("stopped reading; stored input committed in %.1f s", time.monotonic() - started)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_state(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        # Another worker may own these partitions now; its writes would make ours stale.
        # The batches in hand finish first (a little while at most): the new owner loads
        # roll-ups and identities from the tables once the rebalance is done, and must
        # find every row of ours there.
        for lock in (working, alerting_work):
            if not await finished_within(lock, STOP_BATCH_WAIT_S / 2):
                log.warning("a rebalance did not wait for the batch in hand: it is read "
                            "again by the partitions' owners")  # fmt: skip
        gone = {(tp.topic, tp.partition) for tp in revoked or ()}
        owned.difference_update(gone)
        if (alerting_topic(prefix), 0) in gone:
            # The engine goes with its partition, unsaved: whoever holds the partition next
            # (this worker too) restores it from the table and reads again from the commit
            # what the table has not applied. A copy kept here would miss what another
            # holder applied meanwhile, and its offsets would skip none of it.
            stage.clear()
            alert_checkpoint.unacked = []
        pipeline.forget_partitions()
        detection.clear()
        merge.clear()  # never acked: the new owner reads them again
        read_to.clear()
        lag.clear()
        checkpoint.unacked = [e for e in checkpoint.unacked  # their state goes unsaved
                              if (e.message.topic, e.message.partition) not in gone]  # fmt: skip

    state_log = detector_state.changelog_topic.get_topic_name()
    engine_log = engine_state.changelog_topic.get_topic_name()

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]
    async def adopt_assignment(sender: Any, assigned: Any = None, **kwargs: Any) -> None:
        # Faust assigns a table's partition with the input partitions of the same number;
        # one held without it would start from empty state (a detector's, the engine's).
        tps = {(tp.topic, tp.partition) for tp in assigned or ()}
        owned.clear()
        owned.update(tps)
        inputs = {p for t, p in tps if t in family_of_topic}
        log.info("assigned input partitions %s", sorted(inputs))
        for tp in assigned or ():  # each input holds detection until its first read (or
            if tp.topic in family_of_topic:  # its hold ends)
                merge.expect(tp, UNSEEN_HOLD_S)
        missing = [f"{state_log}/{p}" for p in sorted(inputs) if (state_log, p) not in tps]
        if (alerting_topic(prefix), 0) in tps and (engine_log, 0) not in tps:
            missing.append(f"{engine_log}/0")
        if missing:
            log.warning("table partitions not assigned with their input, their state is not "
                        "restored: %s (a group that keeps an old assignment gets a new one "
                        "once the worker has been stopped for its session timeout)",
                        ", ".join(missing))  # fmt: skip

    return app


async def finished_within(lock: asyncio.Lock, seconds: float) -> bool:
    """Wait until whoever holds ``lock`` lets it go (False after ``seconds``)."""
    if not await acquired_within(lock, seconds):
        return False
    lock.release()
    return True


async def acquired_within(lock: asyncio.Lock, seconds: float) -> bool:
    """Take ``lock`` (kept: a stopping agent takes no further batch), or give up after
    ``seconds`` (False)."""
    try:
        await asyncio.wait_for(lock.acquire(), seconds)
    except TimeoutError:
        return False
    return True


class Checkpoint:
    """Acks consumed events only once the state that learnt them is in its table.

    The table is written every few seconds rather than every batch (a snapshot is
    megabytes: every series' detectors, or every open alert and watched case of the city),
    and a restart still re-reads exactly what the restored state has not learnt: Faust
    commits only acked offsets.
    """

    def __init__(self, interval_s: float, save: Callable[[], Awaitable[None]]) -> None:
        self.interval_s = interval_s
        self.save = save  # puts the state in its table
        self.stream: Any = None
        self.unacked: list[Any] = []
        self.at = time.monotonic()

    def processed(self, events: Sequence[Any]) -> None:
        self.unacked.extend(events)

    def due(self, max_unacked: int) -> bool:
        if not self.unacked:
            return False
        late = time.monotonic() - self.at >= self.interval_s
        return late or bool(max_unacked and len(self.unacked) >= max_unacked)

    async def commit(self, app: faust.App) -> None:
        pending, self.unacked = self.unacked, []
        await self.save()
        await app.producer.flush()
        for event in pending:
            await self.stream.ack(event)
        self.at = time.monotonic()
