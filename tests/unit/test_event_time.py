"""Event-time order across partitions: the merge rule, and detection that no longer depends
on how unevenly the consumer read the partitions (the false incident of the live scenario
test came from that)."""

from __future__ import annotations

import doctest
import random
import zlib
from pathlib import Path

import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.types import AlertEvent
from detectors.contract.events import Family, Reading
from detectors.evaluation.scenarios import Synthesis, synthesize
from detectors.scoring.monitor import Monitor
from sensors_sim.scenario import load_scenario
from streams import event_time
from streams.alerting import feed
from streams.detection import Detection
from streams.event_time import EventTimeMerge

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_lowest_head_goes_first_and_each_partition_keeps_its_order() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=0.0, clock=Clock())
    for partition, ts in [("a", 5), ("a", 3), ("b", 4), ("b", 9)]:
        merge.add(partition, ts, f"{partition}{ts}")
    merge.read_to("a", 0)
    merge.read_to("b", 0)
    assert merge.release() == ["b4", "a5", "a3", "b9"]  # a's 3 stays behind its 5
    assert merge.pending() == 0


def test_a_partition_with_unread_messages_holds_everything_later() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=0.0, clock=Clock())
    merge.add("a", 10, "a10")
    merge.add("a", 20, "a20")
    merge.add("b", 15, "b15")
    merge.read_to("a", 0)
    merge.read_to("b", 3)  # b has more to read: its next could be earlier than a20
    assert merge.release() == ["a10", "b15"]
    assert merge.release() == []
    merge.add("b", 16, "b16")
    merge.read_to("b", 0)
    assert merge.release() == ["b16", "a20"]


def test_a_partition_read_to_its_end_holds_until_it_has_been_idle() -> None:
    clock = Clock()
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=1.0, clock=clock)
    merge.add("a", 10, "a10")
    merge.add("b", 5, "b5")
    merge.read_to("a", 0)
    merge.read_to("b", 0)
    assert merge.release() == ["b5"]  # b may still be sending: a10 waits
    clock.now = 0.5
    merge.read_to("b", 0)  # still at its end, the same since
    assert merge.release() == []
    clock.now = 1.0
    assert merge.release() == ["a10"]


def test_an_assigned_partition_not_yet_read_holds_until_seen_or_its_hold_ends() -> None:
    """After a restart the first batch can be one partition's backlog: an hour of it must
    not go before the other partition's first minute is read (its restored sensors would be
    judged silent). An empty partition is never seen: it holds for hold_s at most."""
    clock = Clock()
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=0.0, clock=clock)
    for partition in ("env/2", "env/3", "case/3"):
        merge.expect(partition, hold_s=15.0)
    for minute in range(60):
        merge.add("env/2", minute * 60_000, f"2@{minute}")
    merge.read_to("env/2", 0)
    assert merge.release() == []
    assert merge.expected() == ["env/3", "case/3"]
    merge.add("env/3", 0, "3@0")
    merge.read_to("env/3", 4)  # more of it unread: it holds env/2 after its own
    assert merge.release() == []  # case/3, empty, still may come
    clock.now = 15.0
    assert merge.release() == ["2@0", "3@0"]
    merge.expect("env/3", hold_s=15.0)  # a partition seen before is not expected again
    merge.add("env/3", 60_000, "3@1")
    merge.read_to("env/3", 0)
    assert merge.release()[:3] == ["2@1", "3@1", "2@2"]


def test_a_partition_never_read_holds_nothing_and_clear_returns_the_queue() -> None:
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=0.0, clock=Clock())
    merge.add("a", 1, "a1")
    merge.add("a", 2, "a2")
    assert merge.release() == ["a1", "a2"]  # b, never read, cannot hold a back
    merge.add("a", 3, "a3")
    merge.read_to("a", 5)
    assert merge.release() == ["a3"]  # its own queue is never held by itself
    merge.add("a", 4, "a4")
    merge.add("b", 4, "b4")
    merge.read_to("b", 1)
    assert merge.release() == ["a4"]  # a tie goes to the first partition; a now holds b4
    merge.read_to("a", 0)
    assert merge.release() == ["b4"]
    merge.add("b", 5, "b5")
    assert merge.clear() == ["b5"] and merge.pending() == 0


PARTITIONS = 4


def _play(
    synthesis: Synthesis, chunk: int | None, merged: bool = True
) -> list[tuple[str, str, str, int]]:
    """Detection and the alert engine over the scenario's readings as a consumer reads
    them from four partitions, ``chunk`` readings of partition p per fetch times p + 1
    (uneven, so the partitions drift apart in event time); None feeds time order.
    ``merged`` False feeds consumption order, as the worker did before the merge."""
    sites = {s.source_id: s for s in synthesis.sites}
    queues: list[list[Reading]] = [[] for _ in range(PARTITIONS)]
    for ts, source_id, metric, value in synthesis.readings():
        reading = Reading("", ts, Family.WATER, source_id, metric, value, sites[source_id].location)
        queues[zlib.crc32(source_id.encode()) % PARTITIONS].append(reading)
    detection, engine = Detection(Monitor(synthesis.sites)), AlertEngine()
    merge: EventTimeMerge[Reading] = EventTimeMerge(idle_s=0.0, clock=Clock())
    events: list[AlertEvent] = []
    read = [0] * PARTITIONS
    while any(read[p] < len(q) for p, q in enumerate(queues)):
        fetched: list[Reading] = []
        for p, q in enumerate(queues):
            size = len(q) if chunk is None else chunk * (p + 1)
            for reading in q[read[p] : read[p] + size]:
                merge.add(p, reading.ts_ms, reading)
                fetched.append(reading)
            read[p] = min(len(q), read[p] + size)
            merge.read_to(p, len(q) - read[p])
        released = merge.release()
        for step in detection.process(released if merged else fetched):
            events += feed(engine, step)
    return [(e.kind, e.category, e.location.grid, e.ts_ms) for e in events]


@pytest.mark.parametrize("chunk", [50, 1000])
def test_alerts_do_not_depend_on_how_unevenly_partitions_are_read(chunk: int) -> None:
    synthesis = synthesize(load_scenario("water_main", SCENARIOS), 7)
    in_time_order = _play(synthesis, None)
    assert _play(synthesis, chunk) == in_time_order
    assert _play(synthesis, chunk, merged=False) != in_time_order  # the skew matters
    assert not [e for e in in_time_order if e[1] == "fault"]  # no sensor looked silent


def _release_one_at_a_time(merge: EventTimeMerge[str], final: bool) -> list[str]:
    """The merge rule stated plainly: while no partition holds, the lowest head goes (ties:
    the partition seen first); what ``release`` must give, however it is computed."""
    now = merge._clock()
    states = list(merge._partitions.values())
    out = []
    while final or not any(merge._holds(s, now) for s in states):
        heads = [s for s in states if s.queue]
        if not heads:
            break
        out.append(min(heads, key=lambda s: s.queue[0][0]).queue.popleft()[1])
    return out


@pytest.mark.parametrize("seed", range(40))
def test_release_gives_what_the_plain_rule_gives(seed: int) -> None:
    rng = random.Random(seed)
    merges: list[EventTimeMerge[str]] = []
    for _ in range(2):
        clock = Clock()
        merges.append(EventTimeMerge(idle_s=5.0, clock=clock))
    steps = []
    for n in range(rng.randrange(1, 60)):
        part = rng.choice("abcd")
        steps.append(("add", part, rng.randrange(0, 20), f"{part}{n}"))
        if rng.random() < 0.3:
            steps.append(("read_to", rng.choice("abcd"), rng.choice([0, 0, 3]), ""))
    final, later = rng.random() < 0.2, rng.choice([0.0, 6.0])
    for merge in merges:
        merge._clock.now = 10.0  # type: ignore[attr-defined]
        for kind, part, number, item in steps:
            if kind == "add":
                merge.add(part, number, item)
            else:
                merge.read_to(part, number)
        merge._clock.now = 10.0 + later  # type: ignore[attr-defined]
    wanted = _release_one_at_a_time(merges[1], final)
    assert merges[0].release(final=final) == wanted
    assert merges[0].pending() == merges[1].pending()


def test_an_expected_partition_s_hold_counts_from_the_first_read_not_the_assignment() -> None:
    """A worker restores its tables between the assignment and its first read; on a loaded
    box that has taken longer than the hold. Counted from the assignment, the hold was over
    before the partition could be read: the other's backlog went first and the restored
    sensors of the unread one were judged silent (false drain faults in the two-worker
    test)."""
    clock = Clock()
    merge: EventTimeMerge[str] = EventTimeMerge(idle_s=0.0, clock=clock)
    merge.expect("env/2", hold_s=15.0)
    merge.expect("env/3", hold_s=15.0)
    clock.now = 40.0  # restoring, nothing read
    merge.add("env/2", 0, "2@0")
    merge.read_to("env/2", 0)
    assert merge.release() == []
    assert merge.lapsed() == []
    clock.now = 54.0
    assert merge.release() == []
    clock.now = 55.0
    assert merge.release() == ["2@0"]
    assert merge.lapsed() == ["env/3"]  # told once
    assert merge.lapsed() == []
    assert merge.expected() == []
    merge.add("env/2", 60_000, "2@1")
    assert merge.release() == ["2@1"]  # a lapsed partition holds nothing more...
    merge.add("env/3", 30_000, "3@0.5")
    merge.read_to("env/3", 2)
    assert merge.release() == ["3@0.5"]  # ...until it is read, then it is like any other
    merge.add("env/2", 120_000, "2@2")
    assert merge.release() == []
    merge.expect("env/4", hold_s=15.0)
    merge.add("env/2", 180_000, "2@3")  # its hold begins
    clock.now = 100.0
    merge.release()  # and ends, untold yet
    merge.clear()  # a rebalance: a partition forgotten is not told of afterwards
    assert merge.lapsed() == []


def test_the_module_examples_run() -> None:
    assert doctest.testmod(event_time).failed == 0
