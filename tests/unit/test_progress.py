"""The worker's watch of its input partitions: a stall is told once, named with what is
unread, and only for a partition behind its high watermark."""

from __future__ import annotations

import doctest

from streams import progress
from streams.progress import PositionWatch, ProgressWatch


def test_the_module_examples_run() -> None:
    assert doctest.testmod(progress).failed == 0


def test_a_partition_read_to_its_end_is_never_stalled() -> None:
    watch: ProgressWatch[str] = ProgressWatch(stall_s=10)
    watch.observe("traffic/0", next_offset=40, highwater=40, now=0.0)
    watch.observe("traffic/0", next_offset=40, highwater=40, now=100.0)
    assert watch.stalls(now=100.0) == []


def test_a_partition_that_keeps_moving_is_never_stalled() -> None:
    watch: ProgressWatch[str] = ProgressWatch(stall_s=10)
    for t in range(0, 100, 5):
        watch.observe("traffic/0", next_offset=t, highwater=t + 500, now=float(t))
        assert watch.stalls(now=float(t)) == []


def test_a_partition_never_fetched_is_told_with_no_count() -> None:
    watch: ProgressWatch[str] = ProgressWatch(stall_s=10)
    watch.observe("alerting/0", next_offset=None, highwater=None, now=0.0)
    watch.observe("alerting/0", next_offset=None, highwater=None, now=12.0)
    [stall] = watch.stalls(now=12.0)
    assert (stall.partition, stall.unread, stall.since_s) == ("alerting/0", None, 12.0)


def test_a_stall_is_told_again_after_the_partition_moved_and_stopped_again() -> None:
    watch: ProgressWatch[str] = ProgressWatch(stall_s=10)
    watch.observe("case/1", next_offset=3, highwater=9, now=0.0)
    assert [s.unread for s in watch.stalls(now=11.0)] == [6]
    watch.observe("case/1", next_offset=5, highwater=9, now=20.0)
    assert watch.resumed() == ["case/1"] and watch.resumed() == []
    assert watch.stalls(now=25.0) == []
    assert [(s.unread, s.since_s) for s in watch.stalls(now=31.0)] == [(4, 11.0)]


def test_a_revoked_partition_is_forgotten() -> None:
    watch: ProgressWatch[str] = ProgressWatch(stall_s=10)
    watch.observe("power/0", next_offset=1, highwater=5, now=0.0)
    watch.observe("power/1", next_offset=1, highwater=5, now=0.0)
    watch.forget({"power/1"})
    assert [s.partition for s in watch.stalls(now=11.0)] == ["power/1"]


def test_a_quiet_partition_is_not_stalled_when_its_next_message_comes() -> None:
    """The commit watch: a case partition committed to its end, quiet for minutes, then one
    message read and held for a few seconds; a stall only if it stays behind stall_s."""
    watch: ProgressWatch[str] = ProgressWatch(stall_s=60)
    watch.observe("case/1", next_offset=72, highwater=72, now=0.0)
    watch.observe("case/1", next_offset=72, highwater=72, now=85.0)
    watch.observe("case/1", next_offset=72, highwater=73, now=90.0)  # read, not committed
    assert watch.stalls(now=95.0) == []
    [stall] = watch.stalls(now=150.0)
    assert (stall.unread, stall.since_s) == (1, 60.0)


def test_a_partition_left_without_a_position_is_due_again_each_stall_until_it_has_one() -> None:
    watch: PositionWatch[str] = PositionWatch(stall_s=60)
    due = [watch.observe({"case/1": None, "water/0": 5}, now=float(t)) for t in range(0, 200, 10)]
    assert [t * 10 for t, d in enumerate(due) if d] == [60, 120, 180]
    assert all(d in ([], ["case/1"]) for d in due)
    assert watch.observe({"case/1": 3}, now=200.0) == []
    assert watch.observe({"case/1": None}, now=250.0) == []  # a new wait starts at 250
    assert watch.observe({"case/1": None}, now=310.0) == ["case/1"]
