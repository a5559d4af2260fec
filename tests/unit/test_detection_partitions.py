"""Detection split over workers by input partition: each worker's detectors give exactly
what one worker's give for the same series, a partition's state taken over by another
worker carries on where it stopped, and the alert engine's clock waits for the slowest
partition."""

from __future__ import annotations

import dataclasses
import doctest
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from kafka.partitioner.default import murmur2

import streams.alerting
from detectors.alerting.types import Decision
from detectors.contract.events import Family, Reading
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.monitor import Monitor
from sensors_sim.scenario import load_scenario
from streams.alerting import Watermark
from streams.detection import CHANGES_KEY, TICK_KEY, Detection
from streams.state_store import by_partition, table_key

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PARTITIONS, BATCH = 4, 500


def _readings(scenario: str) -> tuple[Any, list[tuple[Reading, int]]]:
    """A scenario's readings in time order, each with a partition among four. A scenario
    plays in one district, so this places by neighbour group, as a key finer than the
    district's (:func:`detectors.contract.wire.key_of`) would: what must hold is only that
    a group's sensors are on one partition."""
    synthesis = synthesize(load_scenario(scenario, SCENARIOS), 7)
    sites = {s.source_id: s for s in synthesis.sites}
    out = []
    for ts, source, metric, value in synthesis.readings():
        where = sites[source].location
        group = sites[source].neighbourhood
        part = (murmur2(group.encode()) & 0x7FFFFFFF) % PARTITIONS
        out.append((Reading("", ts, Family.WATER, source, metric, value, where), part))
    return synthesis, out


def _by_key(steps: list[Any]) -> dict[str, list[bytes]]:
    """Each alert key's decisions in order, as plain data (a silence's value is NaN)."""
    found: dict[str, list[bytes]] = defaultdict(list)
    for step in steps:
        if isinstance(step, Decision):
            found[step.key].append(orjson.dumps(dataclasses.asdict(step)))
    return dict(found)


def _run(det: Detection, items: list[tuple[Reading, int]], held: list[int],
         table: dict[str, Any]) -> list[Any]:  # fmt: skip
    """Batches through ``det``, its snapshot into ``table`` after each, as the worker does
    (through JSON, as the table stores it)."""
    out: list[Any] = []
    for i in range(0, len(items), BATCH):
        chunk = items[i : i + BATCH]
        out += det.process([r for r, _ in chunk], [p for _, p in chunk])
        for part, entries in det.snapshot(held).items():
            for key, entry in entries.items():
                table[table_key(part, key)] = orjson.loads(orjson.dumps(entry))
    return out


@pytest.mark.parametrize(("scenario", "groups"), [("sensor_faults", False), ("power_feeder", True)])
def test_two_workers_and_a_takeover_decide_as_one_worker(scenario: str, groups: bool) -> None:
    synthesis, items = _readings(scenario)
    assert len({p for _, p in items}) > 1, "the scenario must span partitions"
    one = _by_key(_run(Detection(Monitor(synthesis.sites)), items, list(range(PARTITIONS)), {}))

    a_parts, b_parts = [0, 1], [2, 3]
    mine = [x for x in items if x[1] in a_parts]
    theirs = [x for x in items if x[1] in b_parts]
    table: dict[str, Any] = {}
    a = _run(Detection(Monitor(synthesis.sites)), mine, a_parts, table)
    half = (len(theirs) // BATCH // 2) * BATCH
    b = _run(Detection(Monitor(synthesis.sites)), theirs[:half], b_parts, table)
    # b is killed: c takes its partitions over from the table alone
    c_det = Detection(Monitor(synthesis.sites))
    for part, entries in by_partition(table.items(), b_parts).entries.items():
        c_det.restore(entries, part)
    c = _run(c_det, theirs[half:], b_parts, table)

    split = _by_key(a + b + c)
    assert split.keys() == one.keys()
    assert split == one
    assert any(k.startswith("area:") for k in one) == groups  # neighbour groups judged too


def test_each_partition_keeps_only_its_own_alerts_in_the_filter() -> None:
    synthesis, items = _readings("sensor_faults")
    det = Detection(Monitor(synthesis.sites))
    held = list(range(PARTITIONS))
    most = 0
    for i in range(0, len(items), BATCH):
        chunk = items[i : i + BATCH]
        det.changes.select(det.process([r for r, _ in chunk], [p for _, p in chunk]))
        snap = det.snapshot(held)
        assert set(snap) == set(held)
        total = 0
        for part, entries in snap.items():
            assert entries[TICK_KEY] == {"next_tick_ms": det.next_tick_ms}
            for key in entries[CHANGES_KEY]["open"]:
                assert det.alert_home[key] == part
            total += len(entries[CHANGES_KEY]["open"])
        assert total == len(det.changes.snapshot()["open"])  # each alert in one place
        most = max(most, total)
    assert most > 0  # alerts were open to place
    assert len(set(det.alert_home.values())) > 1


def test_the_clock_waits_for_the_slowest_partition_for_a_while() -> None:
    wall = [0.0]
    clock = Watermark(hold_s=180.0, wall=lambda: wall[0])
    assert clock.tick(60_000, [0, 1]) == 60_000
    assert clock.tick(120_000, [0]) is None  # partition 1 still at 60 s
    assert clock.tick(120_000, [1]) == 120_000
    assert clock.tick(900_000, [0]) is None  # 1's worker died: the clock waits for it
    wall[0] = 170.0
    assert clock.tick(960_000, [0]) is None
    wall[0] = 181.0  # no tick from 1 for longer than the hold: it holds no more
    assert clock.tick(1_020_000, [0]) == 1_020_000
    assert clock.tick(1_080_000, [1]) is None  # taken over, it counts again
    assert clock.tick(1_080_000, [0]) == 1_080_000
    assert clock.idle([1]) is None  # both at the same time: nothing to move
    assert clock.tick(1_140_000, [0]) == 1_140_000  # an idle partition holds nothing back
    assert clock.tick(30_000, None) is None  # the clock never goes back
    assert clock.tick(2_000_000, None) == 2_000_000  # a tick naming no partition is the time


def test_the_alerting_module_examples_run() -> None:
    assert doctest.testmod(streams.alerting).failed == 0
