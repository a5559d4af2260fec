"""The worker's detection step, pure: a batch of readings in, decisions for the alert
engine out; one bank per (source id, metric) and one neighbour group per (group, metric).

How a worker wires it (per partition, per batch)::

    monitor = Monitor(sites, models)        # sites from the registry; models from files
    monitor.restore(table_entries)          # once, from the Faust table (plain dicts)
    engine = AlertEngine.restore(engine_snapshot) or AlertEngine()
    ...
    decisions = monitor.process(readings)   # [(ts_ms, source_id, metric, value), ...]
    decisions += monitor.tick(watermark_ms) # silence needs no reading
    events = engine.step(decisions, now_ms=watermark_ms)   # -> AlertEvent.record() rows
    table.update(monitor.snapshot())        # only the series this batch changed
    engine_table[partition] = engine.snapshot()

Operator actions arrive as ``engine.acknowledge(id, now_ms, by)``. Series state is tens of
kilobytes of lists per bank, so a worker with many banks should ``gc.freeze()`` after
``restore``, raise the collector's first threshold, and build, write and drop each
snapshot inside ``collector_paused()`` (``detectors.scoring.base``; see
``bench/bench_detectors.py``).

>>> from detectors.contract.events import Location
>>> site = Site("WAT-0001", "river_gauge", ("water_level",),
...             Location("CB", "D1", "D1-S1", "D1-S1-G01"), cadence_s=300,
...             limits={"warning": 4.0, "guaranteed": 5.0})
>>> monitor = Monitor([site])
>>> decisions = monitor.process([(t * 300_000, "WAT-0001", "water_level", 4.2)
...                              for t in range(5)])
>>> decisions[-1].key, decisions[-1].detector, decisions[-1].score
('WAT-0001:water_level:condition', 'static', 0.78)
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NamedTuple

import orjson

from detectors.alerting.types import Decision
from detectors.contract.alerts import Category
from detectors.contract.events import Location
from detectors.contract.levels import ALARM, CLEAR_BELOW
from detectors.scoring.bank import Bank, BankResult, Pending, Raw, score_pending
from detectors.scoring.base import Evidence
from detectors.scoring.multivariate import TrainedModel
from detectors.scoring.neighbours import NeighbourGroup, Verdict
from detectors.scoring.profiles import FLAGS, bank_for, default_bank
from detectors.scoring.sites import Reading, Site, case_stream

Observer = Callable[[int, str, str, Bank, BankResult], None]
NEIGHBOUR_METRICS = frozenset(
    {"pm25", "pm10", "no2", "o3", "noise", "temperature", "humidity", "flow", "speed",
     "occupancy", "signal_fault", "water_level", "rainfall", "pipe_level", "main_pressure"}
)  # fmt: skip
"""Metrics whose neighbours see the same world; power assets are judged one by one."""
EMIT_FLOOR = 0.3
__all__ = ["Monitor", "Reading", "Site", "case_stream", "fingerprint"]
NOWHERE = Location("", "", "", "")


class Monitor:
    """Banks, neighbour groups and the bookkeeping that turns scores into decisions.
    ``cool_after`` low decisions follow a high one, so the engine can clear (it must be at
    least the engine's ``clear_after``)."""

    def __init__(
        self,
        sites: Iterable[Site],
        models: Mapping[str, TrainedModel] | None = None,
        neighbour_params: Mapping[str, Any] | None = None,
        cool_after: int = 10,
    ) -> None:
        self.sites = {s.source_id: s for s in sites}
        self.models = dict(models or {})  # by metric
        self.neighbour_params = dict(neighbour_params or {})
        self.cool_after = cool_after
        self._banks: dict[tuple[str, str], Bank] = {}
        self._groups = self._build_groups()
        self._hot: dict[str, int] = {}  # key -> low decisions still to send
        self._seen: dict[tuple[str, str], int] = {}  # series -> its latest reading time
        self._prints: dict[tuple[str, str], str] = {}  # series -> fingerprint of its bank
        self._templates: dict[tuple[Any, ...], tuple[Any, str]] = {}  # profile -> members, print
        self._dirty: set[tuple[str, str]] = set()
        self._series_keys: dict[tuple[str, str], _SeriesKeys] = {}

    def _build_groups(self) -> dict[tuple[str, str], NeighbourGroup]:
        members: dict[tuple[str, str], int] = {}
        for site in self.sites.values():
            for metric in site.metrics:
                if metric in NEIGHBOUR_METRICS:
                    key = (site.neighbourhood, metric)
                    members[key] = members.get(key, 0) + 1
        params = self.neighbour_params
        return {k: NeighbourGroup(**params) for k, n in members.items() if n >= 3}

    def add_sites(self, sites: Iterable[Site]) -> int:
        """Adopt sites registered since the monitor was built (a known site keeps its bank
        and group); neighbour groups that now reach three members start. Returns how many
        sites were new."""
        new = [s for s in sites if s.source_id not in self.sites]
        for site in new:
            self.sites[site.source_id] = site
        if new:
            for key, group in self._build_groups().items():
                self._groups.setdefault(key, group)
        return len(new)

    def bank(self, source_id: str, metric: str) -> Bank:
        """The bank of a series, built on first use."""
        key = (source_id, metric)
        bank = self._banks.get(key)
        if bank is None:
            site = self.sites.get(source_id)
            model = self.models.get(metric)
            profile = (
                (site.kind, metric, site.cadence_s, tuple(sorted(site.limits.items())))
                if site is not None
                else ("", "", 0, ())
            )
            template = self._templates.get(profile)
            if template is None:
                built = bank_for(*profile[:3], site.limits, model) if site else default_bank()
                template = self._templates[profile] = (built.members, fingerprint(built))
            bank = Bank(template[0])
            if model is not None:
                bank.bind({model.model_id: model})
            self._banks[key], self._prints[key] = bank, template[1]
        return bank

    # -- the batch step ----------------------------------------------------------------
    def process(
        self, readings: Iterable[Reading], observe: Observer | None = None
    ) -> list[Decision]:
        """Score and learn a batch (in order) and return the decisions it yields."""
        pending: list[Pending] = []
        # what lives through the batch is promoted by the collector (see Raw): parallel
        # lists, not a tuple per reading
        staged: list[Reading] = list(readings)
        banks: list[Bank] = []
        raws: list[Raw] = []
        built, dirty, seen = self._banks, self._dirty, self._seen
        for ts, source_id, metric, value in staged:
            series = (source_id, metric)
            bank = built.get(series)
            if bank is None:
                bank = self.bank(source_id, metric)
            banks.append(bank)
            raws.append(bank.assess_raw(ts, value, pending))
            dirty.add(series)
            if ts > seen.get(series, ts - 1):
                seen[series] = ts
        score_pending(pending)
        decisions: list[Decision] = []
        for (ts, source_id, metric, value), bank, raw in zip(staged, banks, raws, strict=True):
            result = bank.combine(raw)
            if observe is not None:
                observe(ts, source_id, metric, bank, result)
            self._decide(ts, source_id, metric, value, result, decisions)
        return decisions

    def _keys(self, source_id: str, metric: str) -> _SeriesKeys:
        """The series' place, neighbour group and alert keys, built once per site (the
        worker may add a site to ``sites`` after its first reading)."""
        site = self.sites.get(source_id)
        keys = self._series_keys.get((source_id, metric))
        if keys is None or keys.site is not site:
            group = (site.neighbourhood, metric) if site is not None else ("", "")
            base = f"{source_id}:{metric}:"
            keys = self._series_keys[(source_id, metric)] = _SeriesKeys(
                site,
                site.location if site is not None else NOWHERE,
                group,
                f"area:{group[0]}:{metric}",
                base + Category.CONDITION,
                base + Category.FAULT,
                ("group:" + group[0], metric),
            )
        return keys

    def _decide(
        self,
        ts: int,
        source_id: str,
        metric: str,
        value: float,
        result: BankResult,
        out: list[Decision],
    ) -> None:
        keys = self._keys(source_id, metric)
        where = keys.where
        condition, fault = result.condition, result.fault
        fault_by, fault_evidence = result.fault_by, result.fault_evidence
        group = self._groups.get(keys.group)
        if group is not None:
            vote = member_vote(metric, result)
            verdict = group.score_member(ts, source_id, vote)
            group.learn_member(ts, source_id, vote)
            self._dirty.add(keys.group_entry)
            if not verdict.isolated and not verdict.corroborated and condition >= group.vote_floor:
                condition = 0.0  # held back: neighbours do not (yet) agree
            if verdict.fault > fault:
                fault, fault_by, fault_evidence = verdict.fault, "neighbours", _peers(verdict)
            if self._keep(keys.area, verdict.area):
                out.append(
                    _decision(
                        keys.area, Category.AREA, keys.group[0], metric, where, "neighbours",
                        verdict.area, value, ts, _peers(verdict),
                    )
                )  # fmt: skip
        self._emit(
            out,
            keys.condition,
            Category.CONDITION,
            source_id,
            metric,
            where,
            result.condition_by,
            condition,
            value,
            ts,
            result.condition_evidence,
        )
        self._emit(
            out,
            keys.fault,
            Category.FAULT,
            source_id,
            metric,
            where,
            fault_by,
            fault,
            value,
            ts,
            fault_evidence,
        )

    def _keep(self, key: str, score: float) -> bool:
        """Whether a score for ``key`` is a decision to send (a high one, or one of the
        ``cool_after`` low ones that follow it, so the engine can clear)."""
        if score >= ALARM:
            self._hot[key] = self.cool_after
        elif score < EMIT_FLOOR or key not in self._hot:
            if key not in self._hot:
                return False
            if score < CLEAR_BELOW:
                self._hot[key] -= 1
                if self._hot[key] <= 0:
                    del self._hot[key]
        return True

    def _emit(
        self, out: list[Decision], key: str, category: str, source_id: str, metric: str,
        where: Location, detector: str, score: float, value: float, ts: int, evidence: Evidence,
    ) -> None:  # fmt: skip
        if self._keep(key, score):
            out.append(
                _decision(
                    key, category, source_id, metric, where, detector, score, value, ts, evidence
                )
            )

    def tick(self, now_ms: int) -> list[Decision]:
        """Silence checks at ``now_ms`` (event time): decisions for sensors gone quiet."""
        out: list[Decision] = []
        hot, last_seen = self._hot, self._seen
        for series, bank in self._banks.items():
            keys = self._keys(*series)
            key, seen = keys.fault, last_seen.get(series)
            if seen is not None and now_ms <= seen + self.quiet_ms(keys.site) and key not in hot:
                continue  # heard from within its allowance: nothing to ask
            score, label = bank.tick(now_ms)
            if score >= ALARM or key in hot:
                evidence = bank.evidence_of(label) if label else {}
                self._emit(
                    out,
                    key,
                    Category.FAULT,
                    series[0],
                    series[1],
                    keys.where,
                    label,
                    score,
                    float("nan"),
                    now_ms,
                    evidence,
                )
        return out

    def resume(self, at_ms: int, gap_from_ms: int) -> int:
        """The whole input was silent from ``gap_from_ms`` to ``at_ms`` (the platform or
        its feed was down, not every sensor at once): each series heard shortly before the
        gap counts its silence from ``at_ms``. Returns how many series changed."""
        changed = 0
        for series, bank in self._banks.items():
            if bank.resume(at_ms, gap_from_ms):
                self._dirty.add(series)
                changed += 1
        return changed

    def last_seen(self, source_id: str, metric: str) -> int | None:
        """The event time of a series' latest reading, if any (a re-delivered reading is
        not after it)."""
        return self._seen.get((source_id, metric))

    @staticmethod
    def quiet_ms(site: Site | None) -> int:
        """A silence shorter than this cannot be a fault (two cadences)."""
        return 2 * 1000 * (site.cadence_s if site is not None else 60)

    # -- state -------------------------------------------------------------------------
    def dirty(self) -> set[tuple[str, str]]:
        """Series and groups changed since the last :meth:`snapshot` (then forgotten)."""
        return set(self._dirty)

    def snapshot(self, keys: Iterable[tuple[str, str]] | None = None) -> dict[str, Any]:
        """Plain-data state of the given (or the changed) series and groups, keyed
        ``"source_id|metric"`` (groups ``"group:<name>|metric"``): what the worker writes
        to its table after each batch. A series entry holds only learned state and the
        fingerprint of the bank's parameters, which are rebuilt from the site."""
        chosen = set(self._dirty if keys is None else keys)
        self._dirty -= chosen
        out: dict[str, Any] = {}
        for source_id, metric in chosen:
            name = f"{source_id}|{metric}"
            if source_id.startswith("group:"):
                group = self._groups.get((source_id[6:], metric))
                if group is not None:
                    hot = self._hot_of(f"area:{source_id[6:]}:{metric}")
                    out[name] = {"group": group.snapshot(), "hot": hot}
            elif (source_id, metric) in self._banks:
                series = (source_id, metric)
                alerts = self._keys(source_id, metric)
                out[name] = {
                    "fingerprint": self._prints[series],
                    "state": self._banks[series].state(),
                    "seen": self._seen.get(series),
                    "hot": self._hot_of(alerts.condition, alerts.fault),
                }
        return out

    def _hot_of(self, *keys: str) -> dict[str, int]:
        return {k: self._hot[k] for k in keys if k in self._hot}

    def restore(self, snapshots: Mapping[str, Any]) -> list[str]:
        """Install entries taken by :meth:`snapshot` (read back from the table). Returns
        the series whose bank has changed since (other parameters: they start afresh)."""
        dropped = []
        for name, entry in snapshots.items():
            source_id, metric = name.rsplit("|", 1)
            self._hot.update(entry.get("hot", {}))
            if source_id.startswith("group:"):
                self._groups[(source_id[6:], metric)] = NeighbourGroup.restore(entry["group"])
                continue
            bank = self.bank(source_id, metric)
            if entry["fingerprint"] != self._prints[(source_id, metric)]:
                dropped.append(name)
                continue
            bank.load_state(entry["state"])
            if entry.get("seen") is not None:
                self._seen[(source_id, metric)] = int(entry["seen"])
        return dropped


def fingerprint(bank: Bank) -> str:
    """A short digest of a bank's parameters: a stored state fits only the same bank."""
    params = orjson.dumps(bank.snapshot()["params"], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(params).hexdigest()[:16]


def member_vote(metric: str, result: BankResult) -> float:
    """How anomalous a reading is to its neighbour group: its condition score, but for a
    device's fault flag the flag's own rule.

    A flag has no condition score by design (one signal fault is that device's fault, a
    maintenance ticket), so voting the condition left the flag groups silent: at a crash or
    a dark junction the street's signals went down together and only stood-alone device
    faults were raised, never the area incident that flags raised together in one place
    are (profiles.FLAGS). A silent sensor raised no flag, so only the flag rule votes.

    >>> from detectors.scoring.profiles import bank_for
    >>> bank = bank_for("traffic_detector", "signal_fault", cadence_s=30)
    >>> result = bank.assess(0, 1.0)
    >>> result.condition, member_vote("signal_fault", result)
    (0.0, 0.78)
    """
    if metric in FLAGS:
        return result.fault if result.fault_by == "static" else 0.0
    return result.condition


def _peers(verdict: Verdict) -> Evidence:
    return {"agreeing": verdict.agreeing, "peers": verdict.peers}


class _SeriesKeys(NamedTuple):
    """What a series' decisions are filed under, for the site it was built for."""

    site: Site | None
    where: Location
    group: tuple[str, str]  # (neighbourhood, metric)
    area: str
    condition: str
    fault: str
    group_entry: tuple[str, str]  # the group's entry in the table snapshot


def _decision(
    key: str, category: str, source_id: str, metric: str, where: Location, detector: str,
    score: float, value: float, ts: int, evidence: Evidence,
) -> Decision:  # fmt: skip
    return Decision(
        key, category, source_id, metric, where, detector, score, value, ts,
        threshold=_number(evidence.get("threshold")),
        forecast_ts_ms=_integer(evidence.get("forecast_ts_ms")),
        expected=_number(evidence.get("expected")), z=_number(evidence.get("z")),
    )  # fmt: skip


def _number(x: object) -> float | None:
    return float(x) if isinstance(x, int | float) else None


def _integer(x: object) -> int | None:
    return int(x) if isinstance(x, int | float) else None
