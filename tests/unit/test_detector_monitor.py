"""The worker's pure step: banks per series, neighbour groups, decisions, snapshots."""

from __future__ import annotations

import json

import numpy as np

from detectors.alerting.engine import AlertEngine
from detectors.contract.alerts import Category
from detectors.contract.events import Location
from detectors.scoring.monitor import Monitor, Site, case_stream

MIN = 60_000


def stations(n: int = 5) -> list[Site]:
    return [
        Site(
            f"ENV-{i}", "air_station", ("pm25",), Location("CB", "D1", "D1-S1", f"D1-S1-G0{i}"), 60
        )
        for i in range(n)
    ]


def readings(
    minutes: range, seed: int, bump: dict[str, float] | None = None
) -> list[tuple[int, str, str, float]]:
    rng = np.random.default_rng(seed)
    out = []
    for minute in minutes:
        for i in range(5):
            source = f"ENV-{i}"
            value = 40 + 10 * np.sin(minute / 229) + rng.normal(0, 1.5)
            if bump and source in bump and minute >= 36 * 60:
                value += bump[source] * min(1.0, (minute - 36 * 60) / 60)
            out.append((minute * MIN, source, "pm25", round(float(value), 1)))
    return out


def play(monitor: Monitor, stream: list[tuple[int, str, str, float]], batch: int = 500) -> list:
    decisions = []
    for i in range(0, len(stream), batch):
        decisions += monitor.process(stream[i : i + batch])
        decisions += monitor.tick(stream[min(i + batch, len(stream)) - 1][0])
    return decisions


def test_one_drifting_sensor_is_a_fault_not_an_area_event() -> None:
    decisions = play(Monitor(stations()), readings(range(48 * 60), 1, {"ENV-2": 60.0}))
    high = [d for d in decisions if d.score >= 0.5]
    assert any(d.category == Category.FAULT and d.source_id == "ENV-2" for d in high)
    assert not any(d.category in (Category.CONDITION, Category.AREA) for d in high)


def test_all_sensors_rising_together_is_an_area_event() -> None:
    bump = {f"ENV-{i}": 60.0 for i in range(5)}
    decisions = play(Monitor(stations()), readings(range(48 * 60), 1, bump))
    high = [d for d in decisions if d.score >= 0.5]
    assert any(d.category == Category.AREA for d in high)
    assert {d.source_id for d in high if d.category == Category.CONDITION} == set(bump)
    assert not any(d.category == Category.FAULT for d in high)


def test_snapshot_restore_continues_identically() -> None:
    stream = readings(range(40 * 60), 2, {"ENV-1": 50.0, "ENV-3": 50.0})
    cut = len(stream) // 2 + 3
    monitor = Monitor(stations())
    play(monitor, stream[:cut])
    state = json.loads(json.dumps(monitor.snapshot()))
    assert not monitor.dirty()  # a snapshot takes what changed
    twin = Monitor(stations())
    twin.restore(state)
    assert play(twin, stream[cut:]) == play(monitor, stream[cut:])


def test_batch_boundaries_do_not_change_decisions() -> None:
    stream = readings(range(30 * 60), 3, {"ENV-0": 40.0, "ENV-4": 40.0})
    whole = Monitor(stations()).process(stream)
    pieces = Monitor(stations())
    parts = []
    for i in range(0, len(stream), 777):
        parts += pieces.process(stream[i : i + 777])
    assert whole == parts


def test_silence_is_seen_by_tick_without_any_reading() -> None:
    monitor = Monitor(stations(1))
    monitor.process([(m * MIN, "ENV-0", "pm25", 40.0 + m % 3) for m in range(60)])
    assert monitor.tick(62 * MIN) == []
    late = monitor.tick(70 * MIN)
    assert [(d.category, d.detector) for d in late] == [(Category.FAULT, "silent")]


def test_case_reports_feed_a_burst_detector_per_cell_and_category() -> None:
    cell = Location("CB", "D7", "D7-S1", "D7-S1-G03")
    site = case_stream(cell, "waterlogging")
    monitor, engine = Monitor([site]), AlertEngine()
    quiet = [(d * 86_400_000, site.source_id, "case_reports", 1.0) for d in range(0, 20, 3)]
    surge = [(21 * 86_400_000 + m * 5 * MIN, site.source_id, "case_reports", 1.0) for m in range(8)]
    events = engine.step(monitor.process(quiet + surge), now_ms=22 * 86_400_000)
    raised = [e for e in events if e.kind == "raised"]
    assert raised and raised[0].evidence["detector"] == "burst"
    assert raised[0].location.grid == "D7-S1-G03"


def signals(down: set[str], minutes: int = 90) -> list[tuple[int, str, str, float]]:
    """Four traffic signals of one street reporting their fault flags every 30 s for
    ``minutes``; those in ``down`` raise their flag for the last quarter of an hour."""
    return [
        (
            half * 30_000,
            f"TRF-{i}",
            "signal_fault",
            float(f"TRF-{i}" in down and half >= 2 * (minutes - 15)),
        )
        for half in range(2 * minutes)
        for i in range(4)
    ]


def test_signal_faults_raised_together_are_an_area_event_one_alone_a_device_fault() -> None:
    sites = [
        Site(f"TRF-{i}", "traffic_detector", ("signal_fault",),
             Location("CB", "D1", "D1-S1", f"D1-S1-G0{i}"), 30)
        for i in range(4)
    ]  # fmt: skip
    together = [
        d for d in play(Monitor(sites), signals({"TRF-0", "TRF-1", "TRF-2"})) if d.score >= 0.5
    ]
    assert {d.category for d in together} == {Category.FAULT, Category.AREA}
    area = next(d for d in together if d.category == Category.AREA)
    assert area.detector == "neighbours" and area.location.street == "D1-S1"
    alone = [d for d in play(Monitor(sites), signals({"TRF-3"})) if d.score >= 0.5]
    assert alone and {(d.category, d.source_id) for d in alone} == {(Category.FAULT, "TRF-3")}
