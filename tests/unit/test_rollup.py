"""Roll-up folds and the offset-versioned partition state: nothing lost, nothing doubled."""

from __future__ import annotations

import pytest

from detectors.contract.events import Location
from detectors.rollup.aggregation import Summary, SummaryState, window_start_ms
from streams.rollup import PartitionRollups, StoredRow

LOC = Location("CB", "D1", "D1-S1", "D1-S1-G01")
OTHER = Location("CB", "D1", "D1-S2", "D1-S2-G05")


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ([], {"count": 0, "mean": None, "min": None, "max": None}),
        ([5.0], {"count": 1, "mean": 5.0, "min": 5.0, "max": 5.0}),
        ([1.0, -3.0, 8.0], {"count": 3, "mean": 2.0, "min": -3.0, "max": 8.0}),
    ],
)
def test_summary_fold(values: list[float], expected: dict[str, object]) -> None:
    state = Summary.initialize()
    for value in values:
        state = Summary.agg(state, value)
    assert Summary.result(state) == expected


def test_summary_merge_equals_fold_of_both() -> None:
    a = b = Summary.initialize()
    for v in (1.0, 2.0):
        a = Summary.agg(a, v)
    for v in (7.0, -1.0):
        b = Summary.agg(b, v)
    assert Summary.merge(a, b) == SummaryState(4, 9.0, -1.0, 7.0)


def _run(
    state: PartitionRollups,
    events: list[tuple[int, int, float]],
    batch_end: int,
    store: dict[tuple[int, tuple[str, str, str]], StoredRow],
) -> None:
    state.install(state.missing({window_start_ms(ts) for _, ts, _ in events}), [])
    for offset, ts, value in events:
        state.apply(offset, ts, "water", "water_level", value, LOC if offset % 2 else OTHER)
    for row in state.drain(batch_end):
        old = store.get((row.window_ms, row.key))
        if old is None or row.version >= old.version:  # ReplacingMergeTree(version)
            store[(row.window_ms, row.key)] = row


def test_every_level_gets_each_event_once() -> None:
    state = PartitionRollups("t", 0)
    store: dict[tuple[int, tuple[str, str, str]], StoredRow] = {}
    events = [(i, 60_000 + i * 100, float(i)) for i in range(10)]
    _run(state, events, 9, store)
    by_level: dict[str, int] = {}
    for (_, (level, _, _)), row in store.items():
        by_level[level] = by_level.get(level, 0) + row.state.cnt
    assert by_level == {"grid": 10, "street": 10, "district": 10, "city": 10}


def test_redelivery_after_crash_is_skipped_by_version() -> None:
    events = [(i, 120_000 + i * 1000, 1.0) for i in range(40)]
    store: dict[tuple[int, tuple[str, str, str]], StoredRow] = {}
    first = PartitionRollups("t", 0)
    _run(first, events[:25], 24, store)  # stored, but offsets only committed up to 10
    restarted = PartitionRollups("t", 0)  # memory lost; reload from the store
    windows = {window_start_ms(ts) for _, ts, _ in events[10:]}
    restarted.install(windows, [r for (w, _), r in store.items() if w in windows])
    for offset, ts, value in events[10:]:
        restarted.apply(offset, ts, "water", "water_level", value, LOC if offset % 2 else OTHER)
    for row in restarted.drain(39):
        store[(row.window_ms, row.key)] = row
    city = sum(r.state.cnt for (_, k), r in store.items() if k[0] == "city")
    assert city == 40
    assert restarted.redelivered == 15


def test_evicted_window_is_missing_again() -> None:
    state = PartitionRollups("t", 3)
    state.install({0, 60_000, 120_000}, [])
    assert state.evict(60_000) == 1
    assert state.missing({0, 60_000}) == {0}
