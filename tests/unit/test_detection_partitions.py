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
from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import Decision
from detectors.contract.events import CaseReport, Family, Reading
from detectors.contract.places import Location
from detectors.contract.validation import Registry
from detectors.evaluation.scenarios import synthesize
from detectors.scoring.monitor import Monitor
from sensors_sim.scenario import load_scenario
from streams.alerting import (
    HOLD_S,
    AlertingStage,
    Watermark,
    decision_to_json,
    idle_to_json,
    step_to_json,
    tick_to_json,
)
from streams.batch import Message
from streams.detection import CHANGES_KEY, TICK_KEY, Detection
from streams.intake import AlertIntake
from streams.state_store import by_partition, table_key

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
PARTITIONS, BATCH = 4, 500
TOPIC, ACTIONS = "cb.alerting", "cb.alert-actions"


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
            assert entries[TICK_KEY] == {"next_tick_ms": det.next_tick_ms, "fed_ms": det.fed_ms}
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


class _Worker:
    """What the worker's ingest agent sends the alerting topic for its partitions (as
    ``streams.app`` does: filtered steps, the last tick before each, numbered decisions),
    with its checkpoint in ``table``."""

    def __init__(self, sites: Any, held: list[int], table: dict[str, Any]) -> None:
        self.det, self.held, self.table = Detection(Monitor(sites)), held, table
        for part, entries in by_partition(table.items(), held).entries.items():
            self.det.restore(entries, part)

    def batch(self, chunk: list[tuple[Reading, int]]) -> list[bytes]:
        after = self.det.last_tick_ms
        steps = self.det.process([r for r, _ in chunk], [p for _, p in chunk])
        return self._send(self.det.changes.select(steps), after)

    def checkpoint(self) -> list[bytes]:
        sent = self._send(self.det.changes.flush(), self.det.last_tick_ms)
        for part, entries in self.det.snapshot(self.held).items():
            for key, entry in entries.items():
                self.table[table_key(part, key)] = orjson.loads(orjson.dumps(entry))
        return sent

    def _send(self, steps: list[Any], after: int | None) -> list[bytes]:
        out = []
        for step in steps:
            seq = self.det.changes.stamp(step.key) if isinstance(step, Decision) else None
            out.append(step_to_json(step, self.held, after, seq))
            after = step if isinstance(step, int) else after
        return out


def _engine(values: list[bytes], partitions: range = range(0)) -> list[dict[str, Any]]:
    stage, intake = AlertingStage(AlertEngine(), partitions), AlertIntake(TOPIC, ACTIONS)
    messages = [Message(TOPIC, 0, n, 0, b"city", v) for n, v in enumerate(values)]
    out, rejected, _ = intake.apply(stage, messages)
    assert not rejected
    return [e.record() for e in out.events]


def _engine_restored(values: list[bytes], cut: int) -> list[dict[str, Any]]:
    """:func:`_engine`, with the engine snapshotted after ``cut`` messages and restored (as
    when the worker holding the engine dies and another takes it over from its table)."""
    stage, intake = AlertingStage(AlertEngine()), AlertIntake(TOPIC, ACTIONS)
    messages = [Message(TOPIC, 0, n, 0, b"city", v) for n, v in enumerate(values)]
    first, _, _ = intake.apply(stage, messages[:cut])
    snap = orjson.loads(orjson.dumps(stage.snapshot()))
    again = AlertingStage.restore(snap)
    later, rejected, _ = intake.apply(again, messages)  # read again from an older offset
    assert not rejected
    return [e.record() for e in [*first.events, *later.events]]


def _two_districts(first: str, second: str) -> tuple[list[Any], list[tuple[Reading, int]]]:
    """Two scenarios' sites, and their readings in time order: the first scenario's on
    partition 0, the second's on partition 2."""
    sites: list[Any] = []
    both: list[tuple[Reading, int]] = []
    for name, part in ((first, 0), (second, 2)):
        synthesis, items = _readings(name)
        sites += synthesis.sites
        both += [(r, part) for r, _ in items]
    return sites, sorted(both, key=lambda x: x[0].ts_ms)


def _two_lagging_workers_and_a_takeover() -> tuple[list[bytes], list[dict[str, Any]]]:
    """What two workers send the engine, and the engine's events from one worker's."""
    sites, both = _two_districts("flood", "water_main")
    one = _Worker(sites, [0, 1, 2, 3], {})
    alone: list[bytes] = []
    for i in range(0, len(both), BATCH):
        alone += one.batch(both[i : i + BATCH])
        alone += one.checkpoint() if (i // BATCH) % 3 == 2 else []
    expected = _engine(alone)
    assert any(e["kind"] == "raised" for e in expected)

    table: dict[str, Any] = {}
    a, b = _Worker(sites, [0, 1], table), _Worker(sites, [2, 3], table)
    mine = [x for x in both if x[1] in a.held]
    theirs = [x for x in both if x[1] in b.held]
    lag = 12  # batches b is behind a
    sent: list[bytes] = []
    b_batches = [theirs[i : i + BATCH] for i in range(0, len(theirs), BATCH)]
    a_batches = [mine[i : i + BATCH] for i in range(0, len(mine), BATCH)]
    killed_at = len(b_batches) // 6 * 3 + 1  # two batches after a checkpoint
    last_checkpoint = 0
    for n in range(max(len(a_batches), len(b_batches) + lag)):
        if n < len(a_batches):
            sent += a.batch(a_batches[n]) + (a.checkpoint() if n % 3 == 2 else [])
        k = n - lag
        if 0 <= k < len(b_batches):
            if k == killed_at:  # b died after its last checkpoint: c takes its partitions
                b = _Worker(sites, [2, 3], table)
                assert k - last_checkpoint == 1
                for again in b_batches[last_checkpoint : k + 1]:
                    sent += b.batch(again)
            else:
                sent += b.batch(b_batches[k])
            if k % 3 == 2:
                sent += b.checkpoint()
                last_checkpoint = k + 1
    assert len(sent) > len(alone)  # the takeover sent decisions again
    return sent, expected


def test_the_engine_raises_the_same_alerts_from_two_lagging_workers_and_a_takeover() -> None:
    """Two scenarios in two districts on partitions of two workers; the second worker lags
    the first by many minutes, then is killed between checkpoints and its partitions taken
    over from its last checkpoint (so its decisions since are sent twice)."""
    sent, expected = _two_lagging_workers_and_a_takeover()
    assert _engine(sent) == expected


def test_an_engine_that_hears_one_worker_run_ahead_before_the_other_ticks_waits() -> None:
    """A fresh engine (or one reading the topic again from its start after a restart) that
    reads one worker's whole run before the other worker's first tick: told the input
    partitions, its clock starts only once each has ticked, so the second worker's alerts
    and case steps are not judged by the first worker's later time."""
    sites, both = _two_districts("flood", "case_surge")
    one = _Worker(sites, [0, 1, 2, 3], {})
    alone = [v for i in range(0, len(both), BATCH) for v in one.batch(both[i : i + BATCH])]
    expected = _engine(alone, range(4))
    assert _engine(alone) == expected  # one worker names every partition in each tick
    table: dict[str, Any] = {}
    a, b = _Worker(sites, [0, 1], table), _Worker(sites, [2, 3], table)
    sent = []
    for worker in (a, b):  # all of a's steps, then all of b's
        mine = [x for x in both if x[1] in worker.held]
        sent += [v for i in range(0, len(mine), BATCH) for v in worker.batch(mine[i : i + BATCH])]
    assert _engine(sent, range(4)) == expected


def test_an_engine_restored_mid_run_raises_what_it_would_have() -> None:
    sent, expected = _two_lagging_workers_and_a_takeover()
    assert _engine_restored(sent, len(sent) // 2) == expected


def test_a_restored_clock_keeps_waiting_for_the_lagging_worker() -> None:
    """The engine moves to another worker: restored from its snapshot, it still knows how
    far each partition has ticked, so the first tick it reads (the leading worker's) does
    not move its clock past the lagging worker's partitions (whose case steps would then be
    judged overdue by the gap)."""
    wall = [0.0]
    stage = AlertingStage(AlertEngine())
    stage.clock = Watermark(wall=lambda: wall[0])
    stage.clock.tick(600_000, [0, 2])  # the lagging worker
    stage.clock.tick(6_000_000, [1, 3])  # the leading one
    stage.clock.idle([4])
    assert stage.clock.now == 600_000
    wall[0] = 1000.0
    snap = orjson.loads(orjson.dumps(stage.snapshot()))
    again = AlertingStage.restore(snap)
    # restored on the real monotonic clock; again on the test's, so the hold counts from
    # 1000 s whatever this machine's uptime (under 820 s, a hold stamped by the real clock
    # had already passed on the test's)
    again.clock.wall = lambda: wall[0]
    again.clock.restore(snap["watermark"])
    assert again.clock.tick(6_060_000, [1, 3]) is None  # 0 and 2 still at 600 s
    assert again.clock.tick(660_000, [0, 2]) == 660_000
    wall[0] = 1000.0 + HOLD_S + 1  # the hold counts from the restore
    assert again.clock.tick(6_120_000, [1, 3]) == 6_120_000


def test_decisions_sent_again_under_their_numbers_apply_once() -> None:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    key = "S1:pm25:condition"

    def decision(n: int, score: float) -> bytes:
        made = Decision(key, "condition", "S1", "pm25", where, "static", score, 1.0,
                        n * 60_000)  # fmt: skip
        return step_to_json(made, None, None, n)

    once = [decision(1, 0.9), *(decision(n, 0.1) for n in range(2, 14))]
    expected = _engine(once)
    assert [e["kind"] for e in expected if not e["incident_id"] or e["alert_id"]][-1] == "cleared"
    assert _engine(once + once[:5]) == expected  # a restart sends the first five again


def test_a_step_the_engine_cannot_read_is_refused_and_the_rest_applied() -> None:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    good = Decision("S1:pm25:condition", "condition", "S1", "pm25", where, "static", 0.9, 1.0,
                    60_000)  # fmt: skip
    bad_decision = orjson.loads(step_to_json(good, None, None, 1))
    del bad_decision["location"]
    values = [
        orjson.dumps(bad_decision),
        orjson.dumps({"type": "tick", "ts_ms": "soon", "partitions": [0]}),
        orjson.dumps({"type": "decision", "key": "S1:pm25:condition", "seq": "x"}),
        step_to_json(good, None, None, 1),
    ]
    stage, intake = AlertingStage(AlertEngine()), AlertIntake(TOPIC, ACTIONS)
    messages = [Message(TOPIC, 0, n, 0, b"city", v) for n, v in enumerate(values)]
    out, rejected, _ = intake.apply(stage, messages)
    assert [m.offset for m, _ in rejected] == [0, 1, 2]
    assert [e.kind for e in out.events][0] == "raised"


def test_case_events_sent_again_apply_once() -> None:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    stage = AlertingStage(AlertEngine())

    def case(status: str, ts: int) -> dict[str, Any]:
        return {"type": "case", "case_id": "C1", "status": status, "ts_ms": ts,
                "category": "road", "location": dataclasses.asdict(where)}  # fmt: skip

    filed, dispatched = case("filed", 1_000), case("dispatched", 5_000)
    assert stage.first_time(filed) and stage.first_time(dispatched)
    assert not stage.first_time(filed) and not stage.first_time(dispatched)  # a restart's
    assert stage.first_time(case("closed", 5_000))  # the next step, even at the same time


def test_a_restored_case_stream_is_judged_by_its_own_cadence_not_a_default() -> None:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    registry = Registry({}, {where.grid: where})
    filed = CaseReport("1b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6b", 3_600_000, "CS-1", "garbage",
                       "filed", "GW-0001", where, 120.11, 30.21, "", "")  # fmt: skip
    first = Detection.for_registry(registry)
    first.process([filed], [0])
    table = {table_key(p, k): v for p, e in first.snapshot([0]).items() for k, v in e.items()}
    again = Detection.for_registry(registry)
    for part, entries in by_partition(
        orjson.loads(orjson.dumps(table)).items(), [0]
    ).entries.items():
        assert again.restore(entries, part) == []  # nothing dropped as changed
    site = again.monitor.sites["cases:D1-S1-G01:garbage"]
    assert Monitor.quiet_ms(site) == 2 * 86_400_000  # a day's cadence, not a minute's
    later = Reading("", 3_600_000 + 3 * 3_600_000, Family.WATER, "X", "m", 1.0, where)
    assert not [d for d in again.monitor.tick(later.ts_ms) if "cases:" in d.key]


def _first_minute_decision(source: str, ts_ms: int) -> Decision:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    return Decision(f"{source}:pm25:condition", "condition", source, "pm25", where,
                    "robust_z", 0.97, 400.0, ts_ms)  # fmt: skip


def test_decisions_made_before_any_tick_are_applied_once_every_worker_is_idle() -> None:
    """All the input inside one minute of event time, then none (a 30 s run): no worker
    ticks, so the clock never starts. Once every input partition is idle nothing can come
    before these decisions any more, and they are applied as one worker's would be at
    its first tick; before, they waited for a tick that never came."""
    a = decision_to_json(_first_minute_decision("ENV-1", 75_000), after=60_000, seq=1)
    b = decision_to_json(_first_minute_decision("ENV-2", 70_000), after=60_000, seq=1)
    ticked = _engine([a, b, tick_to_json(120_000, range(4))], range(4))
    raised = [e for e in ticked if e["kind"] == "raised"]
    assert {e["key"] for e in raised} == {"ENV-1:pm25:condition", "ENV-2:pm25:condition"}

    quiet = _engine([a, b, idle_to_json([0, 1])], range(4))
    assert quiet == []  # partitions 2 and 3 may still send something earlier
    idle = _engine([a, b, idle_to_json([0, 1]), idle_to_json([2, 3])], range(4))
    assert [e for e in idle if e["kind"] == "raised"] == raised
    # and what comes after, with the clock still unstarted, is applied at once
    c = decision_to_json(_first_minute_decision("ENV-3", 80_000), after=60_000, seq=1)
    later = _engine([a, b, idle_to_json([0, 1]), idle_to_json([2, 3]), c], range(4))
    assert {e["key"] for e in later if e["kind"] == "raised"} == {
        "ENV-1:pm25:condition",
        "ENV-2:pm25:condition",
        "ENV-3:pm25:condition",
    }
