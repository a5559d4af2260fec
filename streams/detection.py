"""The worker's detection step: validated events in, detector decisions out, driven by event
time only, so a replay gives the same decisions at any speed.

State is the pure :class:`detectors.scoring.monitor.Monitor`; after each batch the changed series
are snapshotted as plain data for the worker's Faust table, and restored from it on start.
A re-delivered reading (its time not after the series' last one) is not learnt twice. The
:class:`detectors.alerting.changes.ChangeFilter` that picks the decisions worth sending is
snapshotted with them, so after a restart it carries on where the detectors do.

Each entry belongs to one input partition, the one its readings come from (a neighbour
group's and an alert's: their sources'), and the snapshot is split by it, so a worker that
takes over a partition from another restores exactly that partition's series, groups,
promises and mirrored alerts. The tick and the change filter, one per worker, are written
to each partition the worker holds (the filter only with that partition's alerts).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
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

log = logging.getLogger(__name__)

MINUTE_MS = 60_000
INPUT_GAP_MS = 30_000
"""Nothing at all on the input for longer than this and than three cadences of the fastest
sensor heard (past three and a half, a sensor is judged silent), with the feed as quiet, is
a gap in the feed, not silence of each sensor."""
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


def newest_only(
    entries: Mapping[int, Mapping[str, Any]],
) -> tuple[dict[int, dict[str, Any]], list[tuple[int, str]]]:
    """The table's entries by input partition with each series, neighbour group and watched
    source kept in one partition only: the entry that has learnt the latest reading. Also
    the (partition, key) of each entry passed over, to delete. A source whose district
    moved to another partition (the topics' partition count or keying changed, or the
    city's layout) leaves its older entry in the old one; restored after the newer one, it
    wound the series back, and the live product judged 54 sensors silent at every start.
    The tick and the change filter are each partition's own."""
    best: dict[str, tuple[int, int]] = {}  # key -> (latest reading learnt, partition)
    for part, saved in entries.items():
        for key, entry in saved.items():
            learnt = _learnt_to(key, entry)
            if key not in best or learnt > best[key][0]:
                best[key] = (learnt, part)
    kept: dict[int, dict[str, Any]] = {part: {} for part in entries}
    stale: list[tuple[int, str]] = []
    for part, saved in entries.items():
        for key, entry in saved.items():
            if key in (TICK_KEY, CHANGES_KEY) or best[key][1] == part:
                kept[part][key] = entry
            else:
                stale.append((part, key))
    return kept, stale


def _learnt_to(key: str, entry: Mapping[str, Any]) -> int:
    """The event time of the latest reading a saved entry has learnt (0: not known)."""
    if key.startswith(PROMISE_PREFIX):
        return int(entry.get("last_ms") or 0)
    if key.startswith("group:"):
        members = entry.get("group", {}).get("state", {}).get("members", {})
        return max((int(member[0]) for member in members.values()), default=0)
    return int(entry.get("seen") or 0)


class Detection:
    """One worker's detectors, fed in the order its events were consumed."""

    def __init__(self, monitor: Monitor, changes: ChangeFilter | None = None) -> None:
        self.monitor = monitor
        self.changes = changes or ChangeFilter()
        self.next_tick_ms: int | None = None
        self.redelivered = 0
        self.gaps = 0  # gaps in the whole input crossed without judging silence
        self.fed_ms: int | None = None  # when the newest reading learnt was put on the feed
        self.promises = PromiseWatch(clear_after=self.changes.policy.clear_after)
        self.catalog: Mapping[tuple[str, str], CatalogEntry] = {}  # the entries in force
        self.expected: dict[str, float] = {}  # source id -> readings a minute it promises
        self.home: dict[str, int] = {}  # source id or "group:<name>" -> its input partition
        self.alert_home: dict[str, int] = {}  # alert key -> its source's input partition
        self._restored_changes = False
        self._ticks: list[int | None] = []  # the tick of each partition restored
        self.grids: Mapping[str, Any] = {}  # grid code -> Location, for case streams

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
        detection.grids = registry.grids
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

    def process(
        self,
        items: Iterable[Item],
        partitions: Sequence[int] | None = None,
        fed_ms: Sequence[int] | None = None,
    ) -> list[Decision | int | CaseReport]:
        """Score and learn a batch in consumption order. Returns decisions with the
        event-time minute ticks interleaved where they fall (an int is a tick time), and
        every case event where it falls (the alert engine watches case clocks): the silence
        and case checks of a tick run before the first event at or after it, so the output
        does not depend on where batches are cut. ``partitions`` (one per item) is the input
        partition each came from: where its state is snapshotted. ``fed_ms`` (one per item)
        is when each was put on the feed (its Kafka timestamp): a gap in event time is a gap
        in the whole input only where the feed has the same gap (:meth:`_input_gap`);
        without them there is none. A record stamped with its own event time, as ``replay``
        stamps them, says nothing of when it was fed."""
        out: list[Decision | int | CaseReport] = []
        chunk: list[tuple[int, str, str, float]] = []
        for n, item in enumerate(items):
            if partitions is not None:
                self._place(item, partitions[n])
            reading = self._fresh(item)
            if reading is not None:
                if self.next_tick_ms is None:
                    self.next_tick_ms = reading[0] - reading[0] % MINUTE_MS + MINUTE_MS
                fed = None if fed_ms is None or fed_ms[n] == reading[0] else fed_ms[n]
                if (
                    reading[0] >= self.next_tick_ms
                    and fed is not None
                    and self._input_gap(reading[0], fed)
                ):
                    out += self.monitor.process(chunk)
                    chunk = []
                    out += self._across_gap(reading[0])
                while reading[0] >= self.next_tick_ms:
                    out += self.monitor.process(chunk)
                    chunk = []
                    out += self.monitor.tick(self.next_tick_ms)
                    out += self.promises.judge(self.next_tick_ms, self._promise_of)
                    out.append(self.next_tick_ms)
                    self.next_tick_ms += MINUTE_MS
                chunk.append(reading)
                if fed is not None:
                    self.fed_ms = fed if self.fed_ms is None else max(self.fed_ms, fed)
                if isinstance(item, Reading):
                    self._observe(item)
            if isinstance(item, CaseReport):
                out.append(item)
        out += self.monitor.process(chunk)
        if self.home:
            self._place_alerts(out)
        return out

    def _input_gap(self, ts_ms: int, fed_ms: int) -> bool:
        """Whether nothing came in since the last tick for longer than :data:`INPUT_GAP_MS`
        and three cadences of the fastest sensor this worker has heard (a fleet of hourly
        sensors leaves an hour between readings; one with a 10-second sensor does not), and
        nothing was put on the feed for as long either: the reading ending the gap was put
        there that long after the newest one learnt. A jump in event time alone is not an
        outage: a worker restarted inside a fast replay resumes from offsets read past its
        last saved tick, and a recorded log may hold a gap that its replay, fed in seconds,
        does not."""
        assert self.next_tick_ms is not None
        if self.fed_ms is None:
            return False
        sites = self.monitor.sites
        heard = [sites[k] for k in self.home if k in sites] or sites.values()  # this worker's
        fastest = min((site.cadence_s for site in heard), default=60)
        gap = max(INPUT_GAP_MS, 3_000 * fastest)
        return ts_ms - (self.next_tick_ms - MINUTE_MS) > gap and fed_ms - self.fed_ms > gap

    def _across_gap(self, ts_ms: int) -> list[Decision | int | CaseReport]:
        """The ticks across a gap in the whole input, up to the reading at ``ts_ms`` that
        ends it. The alert engine's clock still moves through it minute by minute (case
        deadlines fall due), but no sensor is judged silent and no source's catalog promise
        broken for it: every one went quiet at once, which is the feed's outage (a restart
        of the platform or of its source), not thousands of device faults and stale
        sources. Sensors heard just before the gap count their silence from its end, and
        sources keeping their promises are watched afresh from it, so one that does not
        come back is still found."""
        assert self.next_tick_ms is not None
        gap_from = self.next_tick_ms - MINUTE_MS
        out: list[Decision | int | CaseReport] = []
        while ts_ms >= self.next_tick_ms:
            out.append(self.next_tick_ms)
            self.next_tick_ms += MINUTE_MS
        resumed = self.monitor.resume(ts_ms, gap_from)
        self.promises.resume(ts_ms)
        log.warning(
            "no input for %.1f min of event time (to %s): silence of %d series counted "
            "from its end", (ts_ms - gap_from) / MINUTE_MS,
            datetime.fromtimestamp(ts_ms / 1000, UTC).isoformat(), resumed,
        )  # fmt: skip
        self.gaps += 1
        return out

    @property
    def last_tick_ms(self) -> int | None:
        """The last tick made (before what is made next), if any."""
        return None if self.next_tick_ms is None else self.next_tick_ms - MINUTE_MS

    def _place(self, item: Item, partition: int) -> None:
        source = item.source_id if isinstance(item, Reading) else self._series(item)[1]
        if self.home.get(source) != partition:
            self.home[source] = partition
            site = self.monitor.sites.get(source)
            if site is not None:
                self.home["group:" + site.neighbourhood] = partition

    def _place_alerts(self, out: Iterable[Decision | int | CaseReport]) -> None:
        for step in out:
            if isinstance(step, Decision) and step.key not in self.alert_home:
                area = step.key.startswith("area:")
                home = self.home.get(("group:" if area else "") + step.source_id)
                if home is not None:
                    self.alert_home[step.key] = home

    def _observe(self, reading: Reading) -> None:
        expected = self.expected.get(reading.source_id, 0.0)
        self.promises.observe(reading.source_id, reading.family.value, reading.location,
                              expected, reading.ts_ms)  # fmt: skip

    def snapshot(self, partitions: Iterable[int] = (0,)) -> dict[int, dict[str, Any]]:
        """Changed entries since the last snapshot, for the table, by the input partition
        each belongs to; the tick and the change filter's share go to each of
        ``partitions`` (those the worker holds; the first also takes any entry whose
        partition is not known yet)."""
        held = sorted(set(partitions)) or [0]
        out: dict[int, dict[str, Any]] = {p: {} for p in held}

        def home(name: str) -> int:
            found = self.home.get(name)
            return held[0] if found is None else found

        for key, entry in self.monitor.snapshot().items():
            out.setdefault(home(key.rsplit("|", 1)[0]), {})[key] = entry
        for source_id, watched in self.promises.snapshot().items():
            out.setdefault(home(source_id), {})[PROMISE_PREFIX + source_id] = watched
        changes = self.changes.snapshot()
        for p in held:
            open_ = {k: a for k, a in changes["open"].items() if self._alert_at(k, held) == p}
            waiting = [d for d in changes["held"] if self._alert_at(d["key"], held) == p]
            sent = {k: n for k, n in changes["sent"].items() if self._alert_at(k, held) == p}
            out[p][CHANGES_KEY] = {**changes, "open": open_, "held": waiting, "sent": sent}
            out[p][TICK_KEY] = {"next_tick_ms": self.next_tick_ms, "fed_ms": self.fed_ms}
        return out

    def _alert_at(self, key: str, held: Sequence[int]) -> int:
        found = self.alert_home.get(key)
        return held[0] if found is None or found not in held else found

    def restore(self, entries: Mapping[str, Any], partition: int | None = None) -> list[str]:
        """Adopt the table's entries of one input partition (None: not known; call once
        per partition held, on start or after a rebalance): the earliest tick of them all
        (a partition taken over from a worker that lagged is not judged silent by this
        worker's later time; its readings come first, in event-time order), none if one
        of them has none (never checkpointed: the first reading, the earliest, sets it),
        the newest feed time, the union of the change filters."""
        entries = dict(entries)
        ticked = entries.pop(TICK_KEY, None) or {}
        tick, fed = ticked.get("next_tick_ms"), ticked.get("fed_ms")
        self._ticks.append(None if tick is None else int(tick))
        if fed is not None:  # the newest of them: a gap is called only if all were before it
            self.fed_ms = int(fed) if self.fed_ms is None else max(self.fed_ms, int(fed))
        known = [t for t in self._ticks if t is not None]
        self.next_tick_ms = min(known) if known and len(known) == len(self._ticks) else None
        changes = entries.pop(CHANGES_KEY, None)
        if changes is not None:
            restored = ChangeFilter.restore(changes)
            if partition is not None:
                self.alert_home.update(dict.fromkeys(changes["open"], partition))
                self.alert_home.update((d["key"], partition) for d in changes.get("held", []))
                self.alert_home.update(dict.fromkeys(changes.get("sent", {}), partition))
            if self._restored_changes:
                self.changes.absorb(restored)
            else:
                self.changes, self._restored_changes = restored, True
        promised = [k for k in entries if k.startswith(PROMISE_PREFIX)]
        if partition is not None:
            self.home.update((k[len(PROMISE_PREFIX) :], partition) for k in promised)
            self.home.update((k.rsplit("|", 1)[0], partition) for k in entries if "|" in k)
        self.promises.restore((k[len(PROMISE_PREFIX) :], entries.pop(k)) for k in promised)
        for name in entries:  # a case stream's site comes with its first report otherwise:
            source = name.rsplit("|", 1)[0]  # restored without it, its bank would be judged
            grid, _, category = source[len("cases:") :].partition(":")  # by a default one
            if source.startswith("cases:") and grid in self.grids:
                site = case_stream(self.grids[grid], category)
                self.monitor.sites.setdefault(site.source_id, site)
        return self.monitor.restore(entries)
