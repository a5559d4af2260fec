"""A gap in the whole input (the platform or its feed was down, then came back) is not a
silence of every sensor: none is judged silent or stale for it, and one that does not come
back is still found."""

from __future__ import annotations

import functools
from pathlib import Path

from detectors.alerting.promises import PromiseWatch
from detectors.alerting.types import Decision
from detectors.contract.alerts import Category
from detectors.contract.catalog import Promise
from detectors.contract.events import Family, Reading
from detectors.contract.levels import ALARM
from detectors.contract.places import Location
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.monitor import Monitor, Site
from sensors_sim.scenario import load_scenario
from streams.detection import MINUTE_MS, Detection

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
HOUR = 60 * MINUTE_MS


@functools.cache
def city() -> tuple[list[Site], list[Reading]]:
    """The baseline scenario's sites and its readings as the worker consumes them."""
    synthesis = synthesize(load_scenario("baseline", SCENARIOS), 7)
    sites = {s.source_id: s for s in synthesis.sites}
    readings = [Reading("", ts, Family.WATER, source, metric, value, sites[source].location)
                for ts, source, metric, value in synthesis.readings()]  # fmt: skip
    return synthesis.sites, readings


def first_source() -> str:
    return sorted(site.source_id for site in city()[0])[0]


def faults_after(
    cut_hours: float, gap_hours: float, gone: str | None, feed: str = "live", restart: bool = False
) -> set[str]:
    """The sources with a fault decision at ALARM after the cut, when the baseline city's
    readings stop for ``gap_hours`` from ``cut_hours`` into the run and then come back
    (without ``gone``'s), fed to the worker's detection in batches of 500. ``feed``: when
    each reading was put on the feed: "live", just after its event time; "replay", a
    millisecond after the one before (a recorded log played fast); "stamped", records
    stamped with their event time (``replay`` does); "none", not known. ``restart``: the
    worker is restarted from its snapshot at the cut."""
    sites, readings = city()
    start = readings[0].ts_ms
    cut, back = start + int(cut_hours * HOUR), start + int((cut_hours + gap_hours) * HOUR)
    fed = [r for r in readings if r.ts_ms < cut or (r.ts_ms >= back and r.source_id != gone)]
    fed = [r for r in fed if r.ts_ms < back + 2 * HOUR]
    detection = Detection(Monitor(sites))
    found: set[str] = set()
    for i in range(0, len(fed), 500):
        batch = fed[i : i + 500]
        if restart and batch[0].ts_ms >= cut and detection.next_tick_ms is not None:
            (saved,) = detection.snapshot().values()
            detection = Detection(Monitor(sites))
            detection.restore(saved, 0)
            restart = False
        times = {
            "live": [r.ts_ms + 150 for r in batch],  # stamped by its producer as it is sent
            "stamped": [r.ts_ms for r in batch],  # by its event time, as `replay` does
            "replay": [start + i + n for n in range(len(batch))],
            "none": None,
        }[feed]
        for step in detection.process(batch, fed_ms=times):
            if (
                isinstance(step, Decision)
                and step.category == Category.FAULT.value
                and step.score >= ALARM
                and step.ts_ms >= cut
            ):
                found.add(step.source_id)
    return found


def test_a_gap_in_the_whole_input_is_no_sensors_fault_but_one_that_stays_away_is() -> None:
    gone = first_source()
    assert faults_after(3.0, 2.0, None) == set()  # two hours without any input, then all back
    assert faults_after(3.0, 2.0, gone) == {gone}  # one never came back: found


def test_a_short_stop_of_the_whole_feed_is_a_gap_too() -> None:
    """Five minutes without input (a restart of the platform), longer than the minute
    sensors' allowance of three and a half cadences: without the rule, they are all
    silent."""
    assert faults_after(3.0, 5 / 60, None, feed="none")
    assert faults_after(3.0, 5 / 60, None) == set()
    assert faults_after(3.0, 5 / 60, None, restart=True) == set()


def test_the_gap_is_known_across_a_restart_of_the_worker() -> None:
    assert faults_after(3.0, 2.0, None, restart=True) == set()


def test_a_jump_in_event_time_alone_is_no_gap_in_the_feed() -> None:
    """A recorded log with a gap played fast, or a worker restarted inside a fast replay
    (its committed offsets read past its last saved tick): every sensor is judged on the
    log's own time, as with no feed times at all."""
    everyone = faults_after(3.0, 2.0, None, feed="none")
    assert len(everyone) >= 20  # of 57 sensors: those whose cadence a 2-hour gap exceeds
    assert faults_after(3.0, 2.0, None, feed="replay") == everyone
    assert faults_after(3.0, 2.0, None, feed="replay", restart=True) == everyone
    assert faults_after(3.0, 2.0, None, feed="stamped") == everyone


def test_without_a_gap_a_sensor_that_stops_is_found_as_before() -> None:
    gone = first_source()
    assert faults_after(3.0, 0.0, gone) == {gone}


def test_a_source_keeping_its_promise_is_watched_afresh_after_the_gap() -> None:
    watch, where = PromiseWatch(), Location("CB", "D1")
    lookup = lambda family, source_id: ("water", Promise(120, 80.0, 60))  # noqa: E731
    for minute in range(30):
        watch.observe("S1", "water", where, 1.0, minute * MINUTE_MS)
        watch.observe("S2", "water", where, 1.0, minute * MINUTE_MS)
        watch.judge((minute + 1) * MINUTE_MS, lookup)
    back = 150 * MINUTE_MS  # two hours without input
    watch.resume(back)
    watch.observe("S1", "water", where, 1.0, back)
    decisions = []
    for minute in range(1, 20):
        now = back + minute * MINUTE_MS
        watch.observe("S1", "water", where, 1.0, now - MINUTE_MS // 2)
        decisions += watch.judge(now, lookup)
    assert {d.source_id for d in decisions if d.score >= ALARM} == {"S2"}  # S2 stayed away
