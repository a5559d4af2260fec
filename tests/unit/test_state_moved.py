"""A series saved under two input partitions (its district moved to another one: the
topics' partition count or keying changed, or the city's layout) is restored from the entry
that learnt the latest reading, and the other is deleted; restored from the older one, the
worker judged the series silent at its next reading."""

from __future__ import annotations

from typing import Any

from detectors.alerting.types import Decision
from detectors.contract.alerts import Category
from detectors.contract.levels import ALARM
from detectors.scoring.monitor import Monitor
from streams.detection import CHANGES_KEY, PROMISE_PREFIX, TICK_KEY, Detection, newest_only
from tests.unit.test_input_gap import HOUR, city


def _faults(detection: Detection, readings: list[Any]) -> set[str]:
    """The sources with a fault decision at ALARM, fed in batches of 500."""
    steps = [s for i in range(0, len(readings), 500) for s in detection.process(readings[i:][:500])]
    return {s.source_id for s in steps if isinstance(s, Decision)
            and s.category == Category.FAULT.value and s.score >= ALARM}  # fmt: skip


def _after_restart(pick: str) -> set[str]:
    """The baseline city run for two hours, saved under partition 2 after the first and
    (every series moved) under partition 1 after the second, then restored by ``pick``
    ("newest": :func:`newest_only`; "last": each partition in turn, the later partition
    over the earlier, as before) and run on: the sources with a fault."""
    sites, readings = city()
    start = readings[0].ts_ms
    first = [r for r in readings if r.ts_ms < start + HOUR]
    second = [r for r in readings if start + HOUR <= r.ts_ms < start + 2 * HOUR]
    rest = [r for r in readings if start + 2 * HOUR <= r.ts_ms < start + 3 * HOUR]
    detection = Detection(Monitor(sites))
    assert not _faults(detection, first)
    (older,) = detection.snapshot([2]).values()
    assert not _faults(detection, second)
    (newer,) = detection.snapshot([1]).values()  # every series reported in the second hour
    saved = {1: newer, 2: older}
    kept, stale = newest_only(saved) if pick == "newest" else (saved, [])
    if pick == "newest":
        assert stale and all(part == 2 for part, _ in stale)
        assert set(kept[2]) == {TICK_KEY, CHANGES_KEY}  # each partition keeps its own
    restored = Detection(Monitor(sites))
    for part, entries in kept.items():
        restored.restore(entries, part)
    return _faults(restored, rest)


def test_the_entry_that_learnt_the_latest_reading_is_restored() -> None:
    assert _after_restart("last")  # the older entry restored last: series judged silent
    assert _after_restart("newest") == set()


def test_newest_only_compares_series_groups_and_watched_sources_by_their_own_clocks() -> None:
    group = lambda *ts: {"group": {"state": {"members": {f"m{n}": [t] for n, t in enumerate(ts)}}}}  # noqa: E731
    saved = {
        0: {"S|m": {"seen": 5}, "group:G|m": group(1, 9), PROMISE_PREFIX + "S": {"last_ms": 1},
            TICK_KEY: {"next_tick_ms": 60_000}},
        1: {"S|m": {"seen": 7}, "group:G|m": group(8), PROMISE_PREFIX + "S": {"last_ms": 2},
            TICK_KEY: {"next_tick_ms": 120_000}, "T|m": {"seen": None}},
    }  # fmt: skip
    kept, stale = newest_only(saved)
    assert kept == {
        0: {"group:G|m": group(1, 9), TICK_KEY: {"next_tick_ms": 60_000}},
        1: {"S|m": {"seen": 7}, PROMISE_PREFIX + "S": {"last_ms": 2},
            TICK_KEY: {"next_tick_ms": 120_000}, "T|m": {"seen": None}},
    }  # fmt: skip
    assert sorted(stale) == [(0, "S|m"), (0, PROMISE_PREFIX + "S"), (1, "group:G|m")]
