"""The worker's detection step: validated events in, detector decisions out, driven by event
time only, so a replay gives the same decisions at any speed.

State is the pure :class:`detectors.scoring.monitor.Monitor`; after each batch the changed series
are snapshotted as plain data for the worker's Faust table, and restored from it on start.
A re-delivered reading (its time not after the series' last one) is not learnt twice. The
:class:`detectors.alerting.changes.ChangeFilter` that picks the decisions worth sending is
snapshotted with them, so after a restart it carries on where the detectors do.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from detectors.alerting.changes import ChangeFilter
from detectors.alerting.engine import AlertPolicy
from detectors.alerting.promises import PromiseWatch
from detectors.alerting.types import Decision
from detectors.contract.catalog import CatalogEntry, Promise, in_force
from detectors.contract.events import CaseReport, Reading
from detectors.contract.validation import Registry
from detectors.scoring.monitor import Monitor, Site, case_stream
from detectors.scoring.multivariate import TrainedModel

MINUTE_MS = 60_000
TICK_KEY = "__tick__"
"""The table entry holding the next event-time tick (silence checks run once a minute)."""
CHANGES_KEY = "__changes__"
"""The table entry holding the change filter (the alerts it mirrors, any held repeats)."""
PROMISE_PREFIX = "__promise__/"
"""Table entries holding the catalog-promise watch of one source each."""

Item = Reading | CaseReport


Profiles = Mapping[str, tuple[str, Mapping[str, float]]]


def sites_of(registry: Registry, profiles: Profiles | None = None) -> list[Site]:
    """A monitor site for every registered sensor (case reporters are not series), with its
    neighbour group and limits where it has a profile."""
    profiles = profiles or {}
    sites = []
    for source in registry.sources.values():
        if source.family.value != "case":
            group, limits = profiles.get(source.source_id, ("", {}))
            sites.append(Site.of(source, group, limits))
    return sites


class Detection:
    """One worker's detectors, fed in the order its events were consumed."""

    def __init__(self, monitor: Monitor, changes: ChangeFilter | None = None) -> None:
        self.monitor = monitor
        self.changes = changes or ChangeFilter()
        self.next_tick_ms: int | None = None
        self.redelivered = 0
        self.promises = PromiseWatch(clear_after=self.changes.policy.clear_after)
        self.catalog: Mapping[tuple[str, str], CatalogEntry] = {}  # the entries in force
        self.expected: dict[str, float] = {}  # source id -> readings a minute it promises

    def adopt_catalog(self, entries: Mapping[tuple[str, str], CatalogEntry]) -> None:
        """Judge promises by these catalog entries in force from the next tick on."""
        self.catalog = entries

    def _promise_of(self, family: str, source_id: str) -> tuple[str, Promise] | None:
        entry = in_force(self.catalog, family, source_id)
        return (entry.department, entry.promise) if entry is not None else None

    def _note_sources(self, registry: Registry) -> None:
        for source in registry.sources.values():
            self.expected[source.source_id] = source.per_minute

    @classmethod
    def for_registry(
        cls,
        registry: Registry,
        models: Mapping[str, TrainedModel] | None = None,
        profiles: Profiles | None = None,
        neighbour_params: Mapping[str, Any] | None = None,
        cool_after: int | None = None,
        policy: AlertPolicy | None = None,
    ) -> Detection:
        extra: dict[str, Any] = {} if cool_after is None else {"cool_after": cool_after}
        monitor = Monitor(sites_of(registry, profiles), models=models,
                          neighbour_params=neighbour_params, **extra)  # fmt: skip
        detection = cls(monitor, ChangeFilter(policy))
        detection._note_sources(registry)
        return detection

    def add_sources(self, registry: Registry, profiles: Profiles | None = None) -> None:
        """Sensors registered since the monitor was built get their sites and groups."""
        self.monitor.add_sites(sites_of(registry, profiles))
        self._note_sources(registry)

    def _series(self, item: Item) -> tuple[int, str, str, float]:
        if isinstance(item, Reading):
            return (item.ts_ms, item.source_id, item.metric, item.value)
        site = case_stream(item.location, item.category)
        self.monitor.sites.setdefault(site.source_id, site)
        return (item.ts_ms, site.source_id, site.metrics[0], 1.0)

    def _fresh(self, item: Item) -> tuple[int, str, str, float] | None:
        """The reading to learn from ``item`` (None: a lifecycle step, or learnt before)."""
        if isinstance(item, CaseReport) and item.status != "filed":
            return None  # lifecycle steps are not new reports
        reading = self._series(item)
        seen = self.monitor.last_seen(reading[1], reading[2])
        if seen is not None and reading[0] <= seen:
            self.redelivered += 1  # learnt before a restart: once is enough
            return None
        return reading

    def process(self, items: Iterable[Item]) -> list[Decision | int | CaseReport]:
        """Score and learn a batch in consumption order. Returns decisions with the
        event-time minute ticks interleaved where they fall (an int is a tick time), and
        every case event where it falls (the alert engine watches case clocks): the silence
        and case checks of a tick run before the first event at or after it, so the output
        does not depend on where batches are cut."""
        out: list[Decision | int | CaseReport] = []
        chunk: list[tuple[int, str, str, float]] = []
        for item in items:
            reading = self._fresh(item)
            if reading is not None:
                if self.next_tick_ms is None:
                    self.next_tick_ms = reading[0] - reading[0] % MINUTE_MS + MINUTE_MS
                while reading[0] >= self.next_tick_ms:
                    out += self.monitor.process(chunk)
                    chunk = []
                    out += self.monitor.tick(self.next_tick_ms)
                    out += self.promises.judge(self.next_tick_ms, self._promise_of)
                    out.append(self.next_tick_ms)
                    self.next_tick_ms += MINUTE_MS
                chunk.append(reading)
                if isinstance(item, Reading):
                    self._observe(item)
            if isinstance(item, CaseReport):
                out.append(item)
        out += self.monitor.process(chunk)
        return out

    def _observe(self, reading: Reading) -> None:
        expected = self.expected.get(reading.source_id, 0.0)
        self.promises.observe(reading.source_id, reading.family.value, reading.location,
                              expected, reading.ts_ms)  # fmt: skip

    def snapshot(self) -> dict[str, Any]:
        """Changed entries since the last snapshot, for the table."""
        entries: dict[str, Any] = self.monitor.snapshot()
        for source_id, watched in self.promises.snapshot().items():
            entries[PROMISE_PREFIX + source_id] = watched
        entries[TICK_KEY] = {"next_tick_ms": self.next_tick_ms}
        entries[CHANGES_KEY] = self.changes.snapshot()
        return entries

    def restore(self, entries: Mapping[str, Any]) -> list[str]:
        """Adopt the table's entries (on start or after a rebalance)."""
        entries = dict(entries)
        tick = entries.pop(TICK_KEY, None)
        if tick is not None:
            self.next_tick_ms = tick.get("next_tick_ms")
        changes = entries.pop(CHANGES_KEY, None)
        if changes is not None:
            self.changes = ChangeFilter.restore(changes)
        promised = [k for k in entries if k.startswith(PROMISE_PREFIX)]
        self.promises.restore((k[len(PROMISE_PREFIX) :], entries.pop(k)) for k in promised)
        return self.monitor.restore(entries)
