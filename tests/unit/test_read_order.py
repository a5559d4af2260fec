"""Each input partition is stored in offset order, without holes, by its owner only: a
batch left unstored followed by the next one of its partition would stamp roll-up rows
past offsets never folded, and those rows would skip them when they are read again."""

from __future__ import annotations

from detectors.contract.events import Location
from detectors.rollup.aggregation import window_start_ms
from streams.read_order import ASK_AGAIN_S, ReadOrder
from streams.rollup import PartitionRollups

TOPIC = "environment"
OWNED = {(TOPIC, 0)}
STREET = "CB-D1-S1"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _cell(offset: int) -> Location:
    """Two grid cells of one street: offsets 10 to 14 in the second."""
    return Location("CB", "CB-D1", STREET, f"{STREET}-G{int(10 <= offset < 15)}")


def _store(rollups: PartitionRollups, offsets: list[int]) -> None:
    """One batch folded and drained, as the pipeline stores it."""
    rollups.install([window_start_ms(0)], [])
    for offset in offsets:
        rollups.apply(offset, 0, "environment", "pm25", 1.0, _cell(offset))
    rollups.drain(max(offsets))


def _counts(rollups: PartitionRollups) -> dict[str, int]:
    window = rollups.windows[window_start_ms(0)]
    return {
        level: sum(cell.state[0] for (lvl, _, _), cell in window.items() if lvl == level)
        for level in ("grid", "street")
    }


def test_a_batch_stored_past_a_hole_loses_street_counts_that_the_grid_keeps() -> None:
    """Why the order matters: what the takeover trial saw, in miniature."""
    rollups = PartitionRollups(TOPIC, 0)
    _store(rollups, list(range(0, 10)))
    _store(rollups, list(range(15, 20)))  # 10..14 left unstored (a rebalance mid-batch)
    _store(rollups, list(range(10, 20)))  # read again from the commit
    assert _counts(rollups) == {"grid": 20, "street": 15}


def test_a_hole_is_read_again_from_its_first_offset_and_the_rollups_stay_exact() -> None:
    rollups, order = PartitionRollups(TOPIC, 0), ReadOrder(clock=Clock())
    delivered = [list(range(0, 10)), list(range(15, 20)), list(range(10, 20))]
    rewinds = []
    for offsets in delivered:
        keep = order.admit([(TOPIC, 0, o) for o in offsets], lambda tp: 0, OWNED)
        admitted = [o for o, k in zip(offsets, keep, strict=True) if k]
        if admitted:
            _store(rollups, admitted)
        rewinds.append(order.rewinds())
    assert rewinds == [{}, {(TOPIC, 0): 10}, {}]
    assert _counts(rollups) == {"grid": 20, "street": 20}
    assert order.held_back == 5


def test_after_a_rebalance_a_partition_starts_at_or_before_its_commit() -> None:
    order = ReadOrder(clock=Clock())
    assert order.admit([(TOPIC, 0, 40), (TOPIC, 0, 41)], lambda tp: 42, OWNED) == [True, True]
    assert order.admit([(TOPIC, 0, 42)], lambda tp: 42, OWNED) == [True]
    order.forget()  # a rebalance: what was stored here is reloaded from the store
    assert order.admit([(TOPIC, 0, 50)], lambda tp: 45, OWNED) == [False]
    assert order.rewinds() == {(TOPIC, 0): 45}
    assert order.admit([(TOPIC, 0, 45), (TOPIC, 0, 46)], lambda tp: 45, OWNED) == [True, True]


def test_a_partition_never_committed_starts_where_it_is_read() -> None:
    order = ReadOrder(clock=Clock())
    assert order.admit([(TOPIC, 0, 7), (TOPIC, 0, 8)], lambda tp: None, OWNED) == [True, True]
    assert order.admit([(TOPIC, 0, 10)], lambda tp: None, OWNED) == [False]


def test_re_deliveries_pass_and_a_partition_not_owned_is_never_stored_here() -> None:
    order = ReadOrder(clock=Clock())
    batch = [(TOPIC, 0, 3), (TOPIC, 0, 4), (TOPIC, 1, 9), (TOPIC, 0, 2), (TOPIC, 0, 5)]
    assert order.admit(batch, lambda tp: 3, OWNED) == [True, True, False, True, True]
    assert order.rewinds() == {}  # its owner reads partition 1


def test_after_a_hole_nothing_more_of_that_partition_is_stored_in_the_batch() -> None:
    order = ReadOrder(clock=Clock())
    batch = [(TOPIC, 0, 0), (TOPIC, 0, 2), (TOPIC, 0, 1), ("water", 0, 5)]
    keep = order.admit(batch, lambda tp: 0 if tp[0] == TOPIC else 5, {*OWNED, ("water", 0)})
    assert keep == [True, False, False, True]


def test_offsets_that_stay_missing_are_asked_for_again_then_let_go() -> None:
    clock = Clock()
    order = ReadOrder(give_up_s=60.0, clock=clock)
    order.admit([(TOPIC, 0, 0)], lambda tp: 0, OWNED)
    asked = []
    for now in (0.0, 1.0, ASK_AGAIN_S + 1.0, 30.0):
        clock.now = now
        assert order.admit([(TOPIC, 0, 100)], lambda tp: 0, OWNED) == [False]
        asked.append(order.rewinds())
    assert asked == [{(TOPIC, 0): 1}, {}, {(TOPIC, 0): 1}, {(TOPIC, 0): 1}]
    clock.now = 61.0  # retention deleted 1..99: the partition goes on from 100
    assert order.admit([(TOPIC, 0, 100), (TOPIC, 0, 101)], lambda tp: 0, OWNED) == [True, True]
