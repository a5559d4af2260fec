"""The worker's per-batch step: validate, fold roll-ups, write every table, then return.

The agent acks a batch's messages only after :meth:`Pipeline.process` returns, so a write
that fails is retried here (with backoff) rather than lost: a dead ClickHouse stalls the
stream, it never drops events and never crashes the worker.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from typing import TypeVar

from detectors.contract.events import Family
from detectors.contract.validation import Reason, Registry, TimeBounds
from streams import batch, identity
from streams.batch import TP, Message
from streams.identity import PartitionLedger
from streams.metrics import WorkerMetrics
from streams.rollup import PartitionRollups, StoredRow
from streams.sink import ClickHouseSink

log = logging.getLogger(__name__)
T = TypeVar("T")

_REGISTRY_RECHECK_S = 2.0
RETRY_FIRST_S = 0.1
RETRY_MAX_S = 0.5
"""Longest wait between probes of a failed ClickHouse: writes resume within about this
(plus a probe and the write) of the server answering again."""
_UNKNOWN = {Reason.UNKNOWN_SOURCE, Reason.UNKNOWN_GRID, Reason.LOCATION_MISMATCH}


class PartitionsMoved(Exception):
    """The worker's partitions changed while a batch was in hand: leave it unacked."""


class Pipeline:
    """Everything one worker does with a batch; state is per source partition."""

    def __init__(
        self,
        sink: ClickHouseSink,
        metrics: WorkerMetrics,
        family_of_topic: Mapping[str, Family | None],
        *,
        worker_name: str,
        max_future_s: int = 300,
        max_age_s: int = 7 * 24 * 3600,
        registry_refresh_s: float = 30.0,
        window_retention_s: int = 900,
        clock: Callable[[], float] = time.time,
        executor: Executor | None = None,
    ) -> None:
        self._sink = sink
        self._metrics = metrics
        self._family_of_topic = dict(family_of_topic)
        self._worker_name = worker_name
        self._max_future_ms = max_future_s * 1000
        self._max_age_ms = max_age_s * 1000
        self._registry_refresh_s = registry_refresh_s
        self._retention_ms = window_retention_s * 1000
        self._clock = clock
        self._executor = executor or ThreadPoolExecutor(1, thread_name_prefix="clickhouse")
        self._states: dict[TP, PartitionRollups] = {}
        self._ledgers: dict[TP, PartitionLedger] = {}
        self._registry = Registry(sources={}, grids={})
        self._profiles: dict[str, tuple[str, dict[str, float]]] = {}
        self._registry_at = float("-inf")
        self._forgotten = 0  # times the state was dropped: a batch in hand is then stale

    def forget_partitions(self) -> None:
        """Drop in-memory roll-up and identity state (on rebalance): it is reloaded from
        the store. A batch being stored meanwhile ends with :class:`PartitionsMoved`."""
        self._states.clear()
        self._ledgers.clear()
        self._forgotten += 1

    def _still(self, forgotten: int) -> None:
        if self._forgotten != forgotten:
            raise PartitionsMoved("a rebalance dropped the partitions' state mid-batch")

    async def call(self, table: str, fn: Callable[..., T], *args: object) -> T:
        """Run a blocking sink call off the loop, retrying until it succeeds.

        After a failure the server is probed with a cheap query every
        ``RETRY_MAX_S`` at most, and the call is repeated once the probe answers: writes
        resume about a second after ClickHouse is back, without resending a whole batch
        to a server that is still down. One warning when a call fails, one line when it
        succeeds again; each attempt is counted in ``sink_errors``."""
        loop = asyncio.get_running_loop()
        failed_at = 0.0
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                result = await loop.run_in_executor(self._executor, fn, *args)
            except Exception as exc:  # any driver/network error: retry, never drop
                attempt += 1
                self._metrics.sink_errors.labels(table).inc()
                if attempt == 1:
                    failed_at = started
                    log.warning("ClickHouse %s failed, retrying until it answers: %s", table, exc)
                else:
                    log.debug("ClickHouse %s failed (attempt %d): %s", table, attempt, exc)
                await self._wait_for_server(attempt)
                continue
            self._metrics.sink_seconds.labels(table).observe(time.perf_counter() - started)
            if attempt:
                log.info("ClickHouse %s succeeded again after %.1f s and %d failed attempts",
                         table, time.perf_counter() - failed_at, attempt)  # fmt: skip
            return result

    async def _wait_for_server(self, attempt: int) -> None:
        """Back off (capped at ``RETRY_MAX_S``) and probe until the server answers."""
        loop = asyncio.get_running_loop()
        delay = min(RETRY_MAX_S, RETRY_FIRST_S * 2 ** min(attempt - 1, 8))
        while True:
            await loop.run_in_executor(self._executor, self._sink.reset)
            await asyncio.sleep(delay)
            try:
                await loop.run_in_executor(self._executor, self._sink.ping)
                return
            except Exception as exc:
                log.debug("ClickHouse probe failed: %s", exc)
                delay = RETRY_MAX_S

    async def _write(
        self,
        table: str,
        fn: Callable[[Sequence[tuple[object, ...]]], int],
        rows: Sequence[tuple[object, ...]],
    ) -> None:
        if not rows:
            return
        await self.call(table, fn, rows)
        self._metrics.rows_written.labels(table).inc(len(rows))
        self._metrics.sink_batch_rows.labels(table).observe(len(rows))

    async def refresh_registry(self) -> None:
        """Reload the known sources and grid cells."""
        self._registry = await self.call("registry", self._sink.load_registry)
        self._profiles = await self.call("source_profiles", self._sink.load_profiles)
        self._registry_at = self._clock()

    async def place_names(self) -> Mapping[str, tuple[str, str]]:
        """Area names for alert notices, no staler than a registry refresh: the worker
        that holds the alerting partition may ingest nothing, and so refresh nothing."""
        if self._clock() - self._registry_at > self._registry_refresh_s:
            await self.refresh_registry()
        return self._registry.names

    def _bounds(self) -> TimeBounds:
        return TimeBounds(int(self._clock() * 1000), self._max_future_ms, self._max_age_ms)

    async def _validate(self, messages: Sequence[Message]) -> batch.Validated:
        if self._clock() - self._registry_at > self._registry_refresh_s:
            await self.refresh_registry()
        validated = batch.validate_batch(
            messages, self._family_of_topic, self._registry, self._bounds()
        )
        unknown = any(inv.reason in _UNKNOWN for _, inv in validated.dead)
        if unknown and self._clock() - self._registry_at > _REGISTRY_RECHECK_S:
            # A source registered after our last refresh must not be dead-lettered.
            await self.refresh_registry()
            validated = batch.validate_batch(
                messages, self._family_of_topic, self._registry, self._bounds()
            )
        return validated

    async def _load_windows(self, validated: batch.Validated) -> None:
        for tp, windows in batch.windows_needed(validated).items():
            state = self._states.setdefault(tp, PartitionRollups(*tp))
            missing = state.missing(windows)
            if missing:
                rows = await self.call("rollups_load", self._sink.load_rollups, *tp, missing)
                state.install(missing, rows)
            ledger = self._ledgers.setdefault(tp, PartitionLedger())
            unknown = ledger.missing(windows)
            if unknown:
                stored = await self.call("identities_load", self._sink.load_identities, unknown)
                ledger.install(unknown, stored)

    def _evict(self, validated: batch.Validated) -> None:
        newest: dict[TP, int] = {}
        for message, event in validated.events():
            tp = (message.topic, message.partition)
            newest[tp] = max(newest.get(tp, 0), event.ts_ms)
        for tp, ts_ms in newest.items():
            self._states[tp].evict(ts_ms - self._retention_ms)
            self._ledgers[tp].evict(ts_ms - self._retention_ms)

    @property
    def registry(self) -> Registry:
        """The known sources as last loaded."""
        return self._registry

    @property
    def profiles(self) -> dict[str, tuple[str, dict[str, float]]]:
        """Neighbour groups and limits of sources, as last loaded."""
        return self._profiles

    async def process(self, messages: Sequence[Message]) -> batch.Validated:
        """Store one batch completely; returns what to detect and the dead letters (an id
        re-used for other content among them); repeats of stored events are left out.
        Raises :class:`PartitionsMoved` when a rebalance came while it was loading or
        storing: what it stored is as after a crash at that point (the batch is read again,
        by this worker or the partition's new owner, and its stored part recognised)."""
        started = time.perf_counter()
        for topic, n in Counter(m.topic for m in messages).items():
            self._metrics.events_in.labels(topic).inc(n)
        forgotten = self._forgotten
        validated = await self._validate(messages)
        await self._load_windows(validated)
        self._still(forgotten)
        validated = self._settle(validated)
        redelivered = sum(s.redelivered for s in self._states.values())
        changed = batch.fold_rollups(validated, messages, self._states)
        redelivered = sum(s.redelivered for s in self._states.values()) - redelivered
        if redelivered:
            self._metrics.rollup_skipped.inc(redelivered)
            log.info("skipped %d re-delivered events already in their roll-ups", redelivered)
        await self._store(validated, changed)
        self._still(forgotten)
        self._evict(validated)
        self._count(validated)
        self._metrics.batch_seconds.observe(time.perf_counter() - started)
        return validated

    def _settle(self, validated: batch.Validated) -> batch.Validated:
        settled = identity.settle(validated, self._ledgers, self._states)
        for topic, n in Counter(m.topic for m, _ in settled.repeats).items():
            self._metrics.events_repeated.labels(topic).inc(n)
        for message, event in settled.repeats:
            log.debug("skipped %s (%s/%d@%d): a repeat of a stored event", event.event_id,
                      message.topic, message.partition, message.offset)  # fmt: skip
        if settled.redelivered:
            self._metrics.rollup_skipped.inc(settled.redelivered)
            log.info("skipped %d re-delivered events already stored", settled.redelivered)
        return settled.validated

    async def _store(
        self, validated: batch.Validated, changed: Sequence[tuple[TP, StoredRow]]
    ) -> None:
        # Roll-ups before raw rows: an event in the raw tables is then always in its
        # roll-up too, so the identity ledger (filled from the raw tables after a crash)
        # never skips an event the roll-ups are missing.
        now_ms = int(self._clock() * 1000)
        await self._write("rollups_1m", self._sink.write_rollups, batch.rollup_rows(changed))
        await self._write("events_raw", self._sink.write_raw, batch.raw_rows(validated, now_ms))
        await self._write("cases_raw", self._sink.write_cases, batch.case_rows(validated, now_ms))
        await self._write(
            "dead_letters",
            self._sink.write_dead_letters,
            batch.dead_rows(validated, self._family_of_topic, self._worker_name),
        )

    def _count(self, validated: batch.Validated) -> None:
        valid = Counter(m.topic for m, _ in validated.events())
        for topic, n in valid.items():
            self._metrics.events_valid.labels(topic).inc(n)
        for (topic, reason), n in Counter((m.topic, i.reason) for m, i in validated.dead).items():
            self._metrics.events_invalid.labels(topic, reason).inc(n)
