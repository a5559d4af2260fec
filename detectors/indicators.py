"""The five indicators of every area, from the counts of one window: pure, no I/O.

The worker gathers, per place (a grid cell's :class:`Location`, or a coarser one for what
is located no finer: a street's alert, an unplaceable dead letter at the city), an
:class:`AreaInputs` of plain counts, sums and duration lists, folding each sensor, case,
alert and roll-up row in with the ``add_*`` functions. :func:`roll_up` adds the places up
to every grid cell, street, district and the city: the counts, sums and lists are added,
never the scores, so a street's share is its cells' hits over its cells' totals and its
median is the median of all its cells' durations. :func:`area_scores` then scores each area
by the formulas of :data:`detectors.contract.indicators.SPECS`.

>>> cell = Location("CB", "D1", "D1-S1", "D1-S1-G01")
>>> inputs = {cell: AreaInputs(cells=1, sensors=4, fresh=3)}
>>> add_alert(inputs.setdefault(cell.within("street"), AreaInputs()), "street",
...           raised_ms=0, acked_ms=5 * MINUTE_MS, end_ms=HOUR_MS)
>>> areas = roll_up(inputs)
>>> sorted(code for _, code in areas)
['CB', 'D1', 'D1-S1', 'D1-S1-G01']
>>> [(s.indicator.value, s.score) for s in area_scores(AreaLevel.STREET, "D1-S1", 0,
...                                                    areas[AreaLevel.STREET, "D1-S1"])][:2]
[('data', 75.0), ('governance', 100.0)]

Hourly rows come from the minute rows (:func:`hourly`): each component's value and score
are the means of the hour's minutes that had one, the indicator's score combines those.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta

from detectors.contract.case_limits import LATE, OVERDUE, case_steps, limits_for, timeline
from detectors.contract.events import CASE_STATUSES
from detectors.contract.indicators import (
    Component,
    ComponentSpec,
    Indicator,
    Score,
    combine,
    specs_of,
)
from detectors.contract.places import LEVELS, AreaLevel, Location
from detectors.scoring.limits import iaqi

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
RECENT_MS = 15 * MINUTE_MS
"""The trailing window of completeness and dead letters."""
CASE_WINDOW_MS = DAY_MS
"""The trailing window of the governance components."""
REPEAT_MS = 7 * DAY_MS
"""Filings judged for repeats, and how far before each a repeat is looked for."""
EVALUATION_MS = 30 * DAY_MS
"""The trailing window of satisfaction (and the cases the worker reads)."""
POLLUTANTS = ("pm25", "pm10", "no2", "o3")
ACK_LIMIT_MS: dict[str, int] = {"grid": 30 * MINUTE_MS, "street": 20 * MINUTE_MS,
                                "district": 15 * MINUTE_MS, "city": 15 * MINUTE_MS}  # fmt: skip
"""How soon an alert of each tier must be acknowledged: the escalation timeouts
(detectors.alerting.escalation); the city tier, with nowhere to escalate to, keeps the
district's."""
NOISE_DEFAULT_DB = (60.0, 50.0)
"""GB 3096 class 2 (mixed residential and commercial) day and night limits: the zone of a
noise sensor whose profile sets no ``noise_day`` / ``noise_night``."""
PIPE_WARNING_PCT = 80.0
"""A drainage pipe's warning fill (the level III band of detectors.scoring.limits), unless
its profile sets ``warning``."""
CHINA = timedelta(hours=8)


@dataclass(slots=True)
class Mean:
    """A sum and a count: means that add up across places."""

    total: float = 0.0
    count: float = 0.0

    def add(self, total: float, count: float = 1.0) -> None:
        self.total += total
        self.count += count

    @property
    def value(self) -> float | None:
        return self.total / self.count if self.count else None


@dataclass(slots=True)
class AreaInputs:
    """What an area's indicators are computed from, for one window: all additive."""

    cells: int = 0  # grid cells (for the backlog per cell)
    sensors: int = 0
    fresh: int = 0
    received: int = 0  # readings of the trailing 15 minutes
    expected: float = 0.0
    messages: int = 0  # valid messages of the trailing 15 minutes (sensors and reporters)
    dead: int = 0  # dead letters of the trailing 15 minutes
    sources: int = 0
    shared: int = 0
    open_cases: int = 0  # open at some time in the trailing 24 hours
    on_time_cases: int = 0
    dispatch: list[tuple[float, float]] = field(default_factory=list)  # (minutes, limit)
    close: list[tuple[float, float]] = field(default_factory=list)
    alerts_judged: int = 0
    alerts_on_time: int = 0
    evaluation: Mean = field(default_factory=Mean)
    filed: int = 0  # in the trailing 7 days
    repeats: int = 0
    open_now: int = 0
    flow: Mean = field(default_factory=Mean)
    flow_usual: Mean = field(default_factory=Mean)
    load: Mean = field(default_factory=Mean)
    load_usual: Mean = field(default_factory=Mean)
    traffic_minutes: int = 0
    congested: int = 0
    pollutants: dict[str, Mean] = field(default_factory=dict)
    noise: Mean = field(default_factory=Mean)  # dB over the limit, per noise sensor
    gauges: int = 0
    gauges_under: int = 0

    def add(self, other: AreaInputs) -> None:
        """Fold another place's inputs into this one."""
        for f in fields(self):
            mine, theirs = getattr(self, f.name), getattr(other, f.name)
            if isinstance(mine, Mean):
                mine.add(theirs.total, theirs.count)
            elif isinstance(mine, list):
                mine.extend(theirs)
            elif isinstance(mine, dict):
                for name, mean in theirs.items():
                    mine.setdefault(name, Mean()).add(mean.total, mean.count)
            else:
                setattr(self, f.name, mine + theirs)


def roll_up(places: Mapping[Location, AreaInputs]) -> dict[tuple[AreaLevel, str], AreaInputs]:
    """Every grid cell, street, district and city holding a place, with the sum of its
    places' inputs (a place counts in each area whose code it carries)."""
    areas: dict[tuple[AreaLevel, str], AreaInputs] = {}
    for location, inputs in places.items():
        for level in LEVELS:
            code = location.code(level)
            if code:
                areas.setdefault((level, code), AreaInputs()).add(inputs)
    return areas


def add_sensor(
    inputs: AreaInputs, *, last_ms: int | None, freshness_s: int, received: int,
    expected: float, end_ms: int, watched_ms: int = RECENT_MS,
) -> None:  # fmt: skip
    """A sensor: fresh when its last reading is within its freshness target at ``end_ms``;
    its readings received and expected in the trailing 15 minutes.

    ``watched_ms``: how long before ``end_ms`` the city's data began, if that is less than
    the 15 minutes (a product just started, or a replay's first minutes). Nothing can be
    expected from before the data began: ``expected`` (for the whole window) is scaled
    down to the watched part, and a sensor not heard from yet is not judged on freshness
    until its freshness target has passed since then.

    >>> a = AreaInputs()
    >>> add_sensor(a, last_ms=None, freshness_s=300, received=2, expected=15.0,
    ...            end_ms=600_000, watched_ms=120_000)
    >>> (a.sensors, a.fresh, a.received, a.expected)
    (0, 0, 2, 2.0)
    """
    watched = max(0, min(watched_ms, RECENT_MS))
    if last_ms is not None or watched >= freshness_s * 1000:
        inputs.sensors += 1
        inputs.fresh += last_ms is not None and end_ms - last_ms <= freshness_s * 1000
    inputs.received += received
    inputs.expected += expected * watched / RECENT_MS


def add_source(inputs: AreaInputs, *, shared: bool, messages: int, dead: int) -> None:
    """A source (sensor or case reporter): shared in the catalog or not, its valid and
    dead-lettered messages of the trailing 15 minutes."""
    inputs.sources += 1
    inputs.shared += shared
    inputs.messages += messages
    inputs.dead += dead


def add_case(
    inputs: AreaInputs, category: str, events: Iterable[tuple[str, int]], end_ms: int
) -> None:
    """A case from its (status, ts_ms) events before ``end_ms``: open in the trailing day
    (on time or overdue on a step), dispatched or closed in it (minutes from filing), filed
    in the trailing 7 days, open at the end.

    >>> inputs = AreaInputs()
    >>> add_case(inputs, "garbage", [("filed", 0), ("dispatched", 40 * MINUTE_MS)], HOUR_MS)
    >>> inputs.open_cases, inputs.on_time_cases, inputs.dispatch, inputs.open_now
    (1, 0, [(40.0, 30.0)], 1)
    """
    steps = case_steps((status, ts) for status, ts in events if ts < end_ms)
    filed = steps.get("filed")
    if filed is None or filed >= end_ms:
        return
    evaluated = steps.get("evaluated")
    if evaluated is None or evaluated >= end_ms - CASE_WINDOW_MS:
        inputs.open_cases += 1
        states = {step.state for step in timeline(category, steps, end_ms)}
        inputs.on_time_cases += not states & {LATE, OVERDUE}
    limits = limits_for(category)
    dispatched, closed = steps.get("dispatched"), steps.get("closed")
    if dispatched is not None and dispatched >= end_ms - CASE_WINDOW_MS:
        inputs.dispatch.append(((dispatched - filed) / MINUTE_MS, float(limits["dispatched"])))
    if closed is not None and closed >= end_ms - CASE_WINDOW_MS:
        to_close = sum(limits[s] for s in CASE_STATUSES[1 : CASE_STATUSES.index("closed") + 1])
        inputs.close.append(((closed - filed) / MINUTE_MS, float(to_close)))
    inputs.open_now += evaluated is None


def repeats(filings: Iterable[tuple[str, str, int]], end_ms: int) -> dict[str, tuple[int, int]]:
    """Per grid cell, (filed, repeats) of the trailing 7 days from every (grid, category,
    filed_ms) filing of the trailing 14: a repeat follows a filing of the same category in
    the same cell by at most 7 days.

    >>> repeats([("G1", "garbage", 0), ("G1", "garbage", 8 * DAY_MS),
    ...          ("G1", "garbage", 9 * DAY_MS), ("G1", "noise", 9 * DAY_MS)], 10 * DAY_MS)
    {'G1': (3, 1)}
    """
    last: dict[tuple[str, str], int] = {}
    counts: dict[str, tuple[int, int]] = {}
    for grid, category, filed_ms in sorted(filings, key=lambda f: f[2]):
        before = last.get((grid, category))
        last[grid, category] = filed_ms
        if filed_ms < end_ms - REPEAT_MS or filed_ms >= end_ms:
            continue
        filed, repeated = counts.get(grid, (0, 0))
        repeat = before is not None and filed_ms - before <= REPEAT_MS
        counts[grid] = (filed + 1, repeated + repeat)
    return counts


def add_alert(
    inputs: AreaInputs, tier: str, *, raised_ms: int, acked_ms: int | None, end_ms: int
) -> None:
    """An alert raised in the trailing day: on time when acknowledged within its tier's
    limit; not judged while unacknowledged and still within it."""
    limit = ACK_LIMIT_MS.get(tier, ACK_LIMIT_MS["grid"])
    if acked_ms is None or acked_ms >= end_ms:
        if end_ms - raised_ms <= limit:
            return
        inputs.alerts_judged += 1
        return
    inputs.alerts_judged += 1
    inputs.alerts_on_time += acked_ms - raised_ms <= limit


def noise_limit(window_start_ms: int, limits: Mapping[str, float]) -> float:
    """A noise sensor's GB 3096 limit at a time: day 06:00-22:00 China time, else night.

    >>> noise_limit(0, {}), noise_limit(15 * HOUR_MS, {"noise_night": 45.0})
    (60.0, 45.0)
    """
    hour = (datetime.fromtimestamp(window_start_ms / 1000, UTC) + CHINA).hour
    if 6 <= hour < 22:
        return float(limits.get("noise_day", NOISE_DEFAULT_DB[0]))
    return float(limits.get("noise_night", NOISE_DEFAULT_DB[1]))


def water_warning(metric: str, limits: Mapping[str, float]) -> float | None:
    """A gauge's warning level: its profile's ``warning``, else a pipe's 80 % (a river
    gauge without one is not judged)."""
    if "warning" in limits:
        return float(limits["warning"])
    return PIPE_WARNING_PCT if metric == "pipe_level" else None


# The scores: one function per component, each (value, score) from the area's inputs.


def _share(hits: float, total: float) -> tuple[float | None, float | None]:
    share = 100.0 * hits / total if total else None
    return share, share


def _ramp(value: float, full: float, zero: float) -> float:
    """100 up to ``full``, falling linearly to 0 at ``zero``."""
    if value <= full:
        return 100.0
    return max(0.0, 100.0 * (zero - value) / (zero - full))


def _median_score(pairs: Sequence[tuple[float, float]]) -> tuple[float | None, float | None]:
    """The median minutes, scored against the median limit (100 to half of it, 0 at
    twice)."""
    if not pairs:
        return None, None
    minutes = statistics.median(m for m, _ in pairs)
    limit = statistics.median(lim for _, lim in pairs)
    return minutes, _ramp(minutes, limit / 2, 2 * limit)


def _ratio(now: Mean, usual: Mean) -> float | None:
    if now.value is None or not usual.value:
        return None
    return 100.0 * now.value / usual.value


def aqi(pollutants: Mapping[str, Mean]) -> float | None:
    """The highest IAQI (HJ 633) of the pollutants' means (None: none measured).

    >>> aqi({"pm25": Mean(150.0, 2), "o3": Mean(100.0, 1)})
    100.0
    """
    found = [iaqi(p, m.value) for p, m in pollutants.items()
             if p in POLLUTANTS and m.value is not None]  # fmt: skip
    return max(found) if found else None


def _component_values(a: AreaInputs) -> dict[str, tuple[float | None, float | None]]:
    dead_rate, _ = _share(a.dead, a.dead + a.messages)
    complete, _ = _share(a.received, a.expected)
    repeat, _ = _share(a.repeats, a.filed)
    backlog = a.open_now / a.cells if a.cells else None
    flow, load = _ratio(a.flow, a.flow_usual), _ratio(a.load, a.load_usual)
    congestion, _ = _share(a.congested, a.traffic_minutes)
    index, noise = aqi(a.pollutants), a.noise.value
    satisfaction = a.evaluation.value
    return {
        "fresh": _share(a.fresh, a.sensors),
        "complete": (complete, None if complete is None else min(100.0, complete)),
        "dead_letter": (dead_rate, None if dead_rate is None
                        else max(0.0, 100.0 * (1 - dead_rate / 5.0))),
        "shared": _share(a.shared, a.sources),
        "on_time": _share(a.on_time_cases, a.open_cases),
        "dispatch_median": _median_score(a.dispatch),
        "close_median": _median_score(a.close),
        "ack_on_time": _share(a.alerts_on_time, a.alerts_judged),
        "satisfaction": (satisfaction, None if satisfaction is None
                         else (satisfaction - 1) / 4 * 100),
        "repeat": (repeat, None if repeat is None else 100.0 - repeat),
        "backlog": (backlog, None if backlog is None else 100.0 * max(0.0, 1 - backlog / 5)),
        "traffic_flow": (flow, None if flow is None else min(100.0, flow)),
        "power_load": (load, None if load is None else _ramp(abs(load - 100.0), 10.0, 50.0)),
        "congestion": (congestion, None if congestion is None else 100.0 - congestion),
        "aqi": (index, None if index is None else max(0.0, 100.0 - index / 3)),
        "noise": (noise, None if noise is None else max(0.0, 100.0 - 10.0 * noise)),
        "water": _share(a.gauges_under, a.gauges),
    }  # fmt: skip


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 3)


def _component(spec: ComponentSpec, value: float | None, score: float | None) -> Component:
    return Component(spec.name, _rounded(value), spec.unit, _rounded(score), spec.weight)


def area_scores(
    level: AreaLevel, code: str, window_start_ms: int, inputs: AreaInputs
) -> list[Score]:
    """The five indicators of one area for the window starting at ``window_start_ms``."""
    values = _component_values(inputs)
    scores = []
    for indicator in Indicator:
        parts = tuple(_component(s, *values[s.name]) for s in specs_of(indicator))
        scores.append(Score(level, code, indicator, window_start_ms, combine(parts), parts))
    return scores


def hourly(minutes: Iterable[Score], hour_start_ms: int) -> list[Score]:
    """The hour's rows from its minute rows: per area and indicator, each component's
    value and score are the means of the minutes that had one (None if none did); the
    indicator's score combines those.

    >>> fresh = specs_of(Indicator.DATA)[0]
    >>> rows = [Score(AreaLevel.CITY, "CB", Indicator.DATA, m * MINUTE_MS, None,
    ...               (Component("fresh", v, "%", v, fresh.weight),)) for m, v in
    ...         ((0, 90.0), (1, None), (2, 100.0))]
    >>> [(s.score, s.components[0].value) for s in hourly(rows, 0)]
    [(95.0, 95.0)]
    """
    grouped: dict[tuple[AreaLevel, str, Indicator], list[Score]] = {}
    for score in minutes:
        grouped.setdefault((score.level, score.code, score.indicator), []).append(score)
    out = []
    for (level, code, indicator), rows in sorted(grouped.items()):
        parts = []
        for spec in specs_of(indicator):
            found = [c for row in rows for c in row.components if c.name == spec.name]
            values = [c.value for c in found if c.value is not None]
            judged = [c.score for c in found if c.score is not None]
            parts.append(_component(spec, statistics.fmean(values) if values else None,
                                    statistics.fmean(judged) if judged else None))  # fmt: skip
        out.append(Score(level, code, indicator, hour_start_ms, combine(parts), tuple(parts)))
    return out
