"""Offline evaluation: a scenario through the worker's own detection code (monitor, alert
engine; no Kafka), alerts matched to the labelled windows, NAB-style.

A detection counts for a window when it starts inside the window, or at most
``tolerance_ms`` before it, in the window's area; detections matching no window are false.
Per detector, an *episode* is what that detector alone would have raised (score >= 0.5,
cleared after 3 readings below 0.35, like the engine). Lead time is how long before the
static limit's own first alert in that window the first detection came, or, where no
static limit fired, how long before the window's end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import AlertEvent
from detectors.contract.alerts import AlertKind
from detectors.contract.events import Location
from detectors.evaluation.scenarios import Label, Synthesis, in_area
from detectors.scoring.bank import Bank, BankResult
from detectors.scoring.monitor import Monitor
from detectors.scoring.multivariate import TrainedModel, train
from detectors.scoring.profiles import NO_STATISTICS

DAY_MS = 86_400_000
LIMIT_DETECTORS = ("static", "rainstorm")
NO_MODEL = frozenset(NO_STATISTICS)


@dataclass(frozen=True, slots=True)
class Detection:
    """One alert (or episode, or incident) as the evaluation sees it."""

    start_ms: int
    location: Location
    source_id: str


@dataclass
class Run:
    """What a scenario run produced: alert events, and every detector's scores per series."""

    synthesis: Synthesis
    events: list[AlertEvent]
    traces: dict[tuple[str, str], tuple[list[int], list[tuple[float, ...]], tuple[str, ...]]] = (
        field(default_factory=dict)
    )


@dataclass(frozen=True, slots=True)
class Score:
    """One row of a scenario's table."""

    detector: str
    detections: int
    true_positive: int
    false_positive: int
    windows: int
    detected: int
    sensors: int
    scored_days: float
    leads_min: tuple[float, ...]
    static_leads_min: tuple[float, ...]

    @property
    def precision(self) -> float:
        return self.true_positive / self.detections if self.detections else 1.0

    @property
    def recall(self) -> float:
        return self.detected / self.windows if self.windows else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def false_per_sensor_day(self) -> float:
        exposure = self.sensors * self.scored_days
        return self.false_positive / exposure if exposure else 0.0


def run(
    synthesis: Synthesis, models: Mapping[str, TrainedModel] | None = None, batch_ms: int = 300_000
) -> Run:
    """Play a synthesis through a fresh monitor and alert engine, a batch per five minutes
    of event time (decisions keep their own times; silence is checked at batch ends)."""
    monitor, engine = Monitor(synthesis.sites, models), AlertEngine()
    result = Run(synthesis, [])
    for edge, batch in synthesis.batches(batch_ms):
        decisions = monitor.process(batch, observe=_recorder(result))
        ticks = monitor.tick(edge)
        for decision in ticks:
            _record_silence(result, decision.source_id, decision.metric, edge, decision.score)
        result.events += engine.step(decisions + ticks, now_ms=edge)
    return result


def _recorder(result: Run) -> Callable[[int, str, str, Bank, BankResult], None]:
    def record(ts: int, source_id: str, metric: str, bank: Bank, outcome: BankResult) -> None:
        trace = result.traces.get((source_id, metric))
        if trace is None:
            trace = result.traces[(source_id, metric)] = ([], [], bank.labels)
        trace[0].append(ts)
        trace[1].append(outcome.scores)

    return record


def _record_silence(result: Run, source_id: str, metric: str, ts: int, score: float) -> None:
    trace = result.traces.get((source_id, metric))
    if trace is not None and "silent" in trace[2]:
        row = tuple(score if label == "silent" else float("nan") for label in trace[2])
        trace[0].append(ts)
        trace[1].append(row)


def episodes(ts: np.ndarray, scores: np.ndarray, clear_after: int = 3) -> list[int]:
    """Start times of the alerts one detector's scores would raise on their own."""
    valid = ~np.isnan(scores)
    ts, scores = ts[valid], scores[valid]
    high = np.flatnonzero(scores >= 0.5)
    if len(high) == 0:
        return []
    low = (scores < 0.35).astype(np.int64)
    cleared = np.flatnonzero(
        np.convolve(low, np.ones(clear_after, np.int64))[: len(low)] >= clear_after
    )
    starts: list[int] = []
    position = 0
    while True:
        i = np.searchsorted(high, position)
        if i >= len(high):
            return starts
        start = int(high[i])
        starts.append(int(ts[start]))
        j = np.searchsorted(cleared, start + 1)
        if j >= len(cleared):
            return starts
        position = int(cleared[j]) + 1


def match(
    detections: Iterable[Detection], labels: Sequence[Label], tolerance_ms: int
) -> dict[int, list[Detection]]:
    """Detections per label index; unmatched ones under key -1."""
    matched: dict[int, list[Detection]] = {-1: []}
    for found in detections:
        hits = [
            i
            for i, label in enumerate(labels)
            if label.start_ms - tolerance_ms <= found.start_ms <= label.end_ms
            and in_area(found.location, label.area)
        ]
        for i in hits or [-1]:
            matched.setdefault(i, []).append(found)
    return matched


def score(
    name: str,
    detections: list[Detection],
    labels: Sequence[Label],
    sensors: int,
    synthesis: Synthesis,
    static_first: Mapping[int, int],
    tolerance_ms: int,
) -> Score:
    """A table row for detections of one detector (or of the whole system)."""
    matched = match(detections, labels, tolerance_ms)
    leads, static_leads = [], []
    for i, label in enumerate(labels):
        if i not in matched:
            continue
        first = min(d.start_ms for d in matched[i])
        reference = static_first.get(i, label.end_ms)
        leads.append((reference - first) / 60_000)
        if i in static_first:
            static_leads.append((static_first[i] - first) / 60_000)
    true = sum(1 for d in detections if any(d in hits for i, hits in matched.items() if i >= 0))
    return Score(
        detector=name,
        detections=len(detections),
        true_positive=true,
        false_positive=len(matched[-1]),
        windows=len(labels),
        detected=sum(1 for i in range(len(labels)) if i in matched),
        sensors=sensors,
        scored_days=(synthesis.end_ms - synthesis.scored_from_ms) / DAY_MS,
        leads_min=tuple(leads),
        static_leads_min=tuple(static_leads),
    )


@dataclass(frozen=True)
class ScenarioReport:
    """A scenario's rows: the system's incidents and alerts, then each detector alone."""

    name: str
    title: str
    readings: int
    sensors: int
    scored_days: float
    labels: tuple[Label, ...]
    rows: tuple[Score, ...]
    faults_as_incidents: int


def sensor_of(source_id: str) -> str:
    """What counts as one sensor: a source, or a grid cell's stream of case reports."""
    return source_id.rsplit(":", 1)[0] if source_id.startswith("cases:") else source_id


def evaluate(
    synthesis: Synthesis,
    models: Mapping[str, TrainedModel] | None = None,
    tolerance_ms: int = 30 * 60_000,
) -> ScenarioReport:
    """Run a synthesis and score the system and every detector against its labels."""
    result = run(synthesis, models)
    scored_from = synthesis.scored_from_ms
    places = {s.source_id: s.location for s in synthesis.sites}
    per_detector = detector_detections(result, places, scored_from)
    static_first = _first_limit(per_detector, synthesis.labels, tolerance_ms)
    area = tuple(lb for lb in synthesis.labels if lb.kind == "area_incident")
    area_first = {
        area.index(lb): t
        for i, lb in enumerate(synthesis.labels)
        if lb in area and (t := static_first.get(i)) is not None
    }
    sensors = len({sensor_of(s.source_id) for s in synthesis.sites})
    incidents = [
        Detection(e.ts_ms, e.location, "")
        for e in result.events
        if e.kind == AlertKind.INCIDENT_OPENED and e.ts_ms >= scored_from
    ]
    alerts = [
        Detection(e.ts_ms, e.location, str(e.evidence.get("source_id", "")))
        for e in result.events
        if e.kind == AlertKind.RAISED and e.ts_ms >= scored_from
    ]
    rows = [
        score("system: incidents", incidents, area, sensors, synthesis, area_first, tolerance_ms),
        score(
            "system: alerts",
            alerts,
            synthesis.labels,
            sensors,
            synthesis,
            static_first,
            tolerance_ms,
        ),
    ]
    for name in sorted(per_detector):
        found, used = per_detector[name]
        rows.append(
            score(name, found, synthesis.labels, len(used), synthesis, static_first, tolerance_ms)
        )
    return ScenarioReport(
        name=synthesis.name,
        title=synthesis.title,
        readings=len(synthesis.ts_ms),
        sensors=sensors,
        scored_days=(synthesis.end_ms - scored_from) / DAY_MS,
        labels=synthesis.labels,
        rows=tuple(rows),
        faults_as_incidents=_faults_as_incidents(incidents, synthesis.labels, tolerance_ms),
    )


def detector_detections(
    result: Run, places: Mapping[str, Location], scored_from: int
) -> dict[str, tuple[list[Detection], set[str]]]:
    """Each detector's own episodes over every series it watches (scored period only)."""
    found: dict[str, tuple[list[Detection], set[str]]] = {}
    for (source_id, _metric), (ts, rows, labels) in result.traces.items():
        times, table = np.array(ts, dtype=np.int64), np.array(rows, dtype=np.float64)
        where = places.get(source_id, Location("", "", "", ""))
        for column, label in enumerate(labels):
            detections, sensors = found.setdefault(label, ([], set()))
            sensors.add(sensor_of(source_id))
            detections += [
                Detection(t, where, source_id)
                for t in episodes(times, table[:, column])
                if t >= scored_from
            ]
    return found


def _first_limit(
    per_detector: Mapping[str, tuple[list[Detection], set[str]]],
    labels: Sequence[Label],
    tolerance_ms: int,
) -> dict[int, int]:
    """When a static limit first alerted in each window."""
    first: dict[int, int] = {}
    for name in LIMIT_DETECTORS:
        for i, hits in match(per_detector.get(name, ([], set()))[0], labels, tolerance_ms).items():
            if i >= 0:
                first[i] = min([first.get(i, hits[0].start_ms)] + [d.start_ms for d in hits])
    return first


def _faults_as_incidents(
    incidents: Sequence[Detection], labels: Sequence[Label], tolerance_ms: int
) -> int:
    """Incidents that fall on a sensor fault and on no area incident."""
    area = [lb for lb in labels if lb.kind == "area_incident"]
    faults = [lb for lb in labels if lb.kind == "sensor_fault"]
    unexplained = match(incidents, area, tolerance_ms)[-1]
    return sum(1 for d in unexplained if any(i >= 0 for i in match([d], faults, tolerance_ms)))


def train_models(history: Synthesis, seed: int, days: float = 2.0) -> dict[str, TrainedModel]:
    """One multivariate model per metric, trained on the first ``days`` of a history
    synthesis (a fault-free scenario played with another seed)."""
    cadence = {(s.source_id, m): s.cadence_s for s in history.sites for m in s.metrics}
    until = history.start_ms + int(days * DAY_MS)
    by_metric: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
    cadence_of: dict[str, int] = {}
    head = history.ts_ms < until
    for index, (source_id, metric) in enumerate(history.series):
        if metric in NO_MODEL:
            continue
        chosen = head & (history.series_index == index)
        by_metric.setdefault(metric, []).append((history.ts_ms[chosen], history.values[chosen]))
        cadence_of[metric] = cadence.get((source_id, metric), 60)
    return {
        metric: train(
            series, metric, seed=seed, slow_alpha=min(0.2, cadence_of[metric] / DAY_MS * 1000)
        )
        for metric, series in sorted(by_metric.items())
    }
