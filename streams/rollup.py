"""Per-partition cumulative roll-ups, versioned by Kafka offset, so writes are idempotent.

Each row is the cumulative summary of one (area level, area code, metric, minute) over the
events of ONE source partition, stamped with ``version``: the highest offset of that
partition already folded in. Offsets of a partition arrive in order, so a row with version
V contains exactly that partition's events for its key up to offset V. After a crash or a
rebalance the state is reloaded from the stored rows and any re-delivered message whose
offset is <= V is skipped: nothing is counted twice, nothing is lost. The store keeps the
highest version of each row (ReplacingMergeTree(version)).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from detectors.contract.events import LEVELS, Location
from detectors.rollup.aggregation import Summary, SummaryState, window_start_ms

RowKey = tuple[str, str, str]
"""(level, area code, metric)"""


@dataclass(slots=True)
class Cell:
    """One roll-up row in memory."""

    family: str
    state: SummaryState
    version: int  # highest offset folded in; -1 when none


@dataclass(frozen=True, slots=True)
class StoredRow:
    """A roll-up row as read back from the store."""

    window_ms: int
    key: RowKey
    family: str
    state: SummaryState
    version: int


@dataclass
class PartitionRollups:
    """The open windows of one source partition (topic, partition)."""

    topic: str
    partition: int
    windows: dict[int, dict[RowKey, Cell]] = field(default_factory=dict)
    redelivered: int = 0
    _touched: set[tuple[int, RowKey]] = field(default_factory=set)

    def missing(self, window_starts: Iterable[int]) -> set[int]:
        """Windows that must be loaded from the store before events can be applied."""
        return {w for w in window_starts if w not in self.windows}

    def install(self, window_starts: Iterable[int], rows: Iterable[StoredRow]) -> None:
        """Adopt stored rows for windows being loaded (a window may have none yet)."""
        for w in window_starts:
            self.windows.setdefault(w, {})
        for row in rows:
            self.windows[row.window_ms][row.key] = Cell(row.family, row.state, row.version)

    def apply(
        self, offset: int, ts_ms: int, family: str, metric: str, value: float, location: Location
    ) -> bool:
        """Fold one event in at every level; False when its offset is already included."""
        window = self.windows[window_start_ms(ts_ms)]
        applied = False
        for level in LEVELS:
            key = (level, location.code(level), metric)
            cell = window.get(key)
            if cell is None:
                cell = window[key] = Cell(family, Summary.initialize(), -1)
            elif offset <= cell.version:
                continue
            cell.state = Summary.agg(cell.state, value)
            self._touched.add((window_start_ms(ts_ms), key))
            applied = True
        if not applied:
            self.redelivered += 1
        return applied

    def folded(self, offset: int, ts_ms: int, metric: str, location: Location) -> bool:
        """Whether the message at ``offset`` is already in its grid cell's row: a
        re-delivery of what this partition has seen, not a second sending."""
        window = self.windows.get(window_start_ms(ts_ms), {})
        cell = window.get((LEVELS[0], location.code(LEVELS[0]), metric))
        return cell is not None and offset <= cell.version

    def drain(self, version: int) -> list[StoredRow]:
        """Rows changed since the last drain, stamped with ``version`` (the batch's last
        offset for this partition)."""
        out = []
        for window_ms, key in sorted(self._touched):
            cell = self.windows[window_ms][key]
            cell.version = max(cell.version, version)
            out.append(StoredRow(window_ms, key, cell.family, cell.state, cell.version))
        self._touched.clear()
        return out

    def evict(self, older_than_ms: int) -> int:
        """Forget windows that started before ``older_than_ms``; a late event reloads them."""
        old = [w for w in self.windows if w < older_than_ms]
        for w in old:
            del self.windows[w]
        return len(old)
