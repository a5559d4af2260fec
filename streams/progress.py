"""Stalled input partitions: assigned, with messages unread, and not read further for a
while; or never fetched at all.

A consumer can sit on a partition without reading it (a fetch that never comes back, a
partition left paused): nothing fails and nothing is logged, while its lag grows and no
alert it carries is raised. The worker looks every few seconds at each assigned input
partition's next offset to read and its high watermark, and warns once per stall, naming
the partition and how far behind it is; it says so again when the partition moves.

>>> watch = ProgressWatch(stall_s=60)
>>> watch.observe("case/0", next_offset=5, highwater=7, now=0.0)
>>> watch.stalls(now=30.0)
[]
>>> [(s.partition, s.unread, s.since_s) for s in watch.stalls(now=61.0)]
[('case/0', 2, 61.0)]
>>> watch.stalls(now=90.0)  # told once per stall
[]
>>> watch.observe("case/0", next_offset=7, highwater=7, now=95.0)
>>> watch.resumed()
['case/0']

A wait counts from when the partition fell behind, not from when it last moved: a quiet
partition (a case stream, a message a minute) is not stalled the moment its next message
comes.

>>> watch.observe("case/0", next_offset=7, highwater=8, now=300.0)
>>> watch.stalls(now=301.0)
[]
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class Stall(Generic[K]):
    """A partition not read further for ``since_s`` seconds with ``unread`` messages
    (None: its high watermark was never fetched)."""

    partition: K
    unread: int | None
    since_s: float


@dataclass
class _Seen:
    next_offset: int | None
    highwater: int | None
    since: float  # when next_offset last changed, or it last fell behind (or was first seen)
    told: bool = False

    def done(self) -> bool:
        """Read to its high watermark, or nothing known to be unread."""
        return self.highwater is not None and (
            self.next_offset is None or self.highwater <= self.next_offset
        )


class ProgressWatch(Generic[K]):
    """Per-partition read progress, and the stalls it shows (see the module)."""

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._seen: dict[K, _Seen] = {}
        self._resumed: list[K] = []

    def observe(
        self, partition: K, next_offset: int | None, highwater: int | None, now: float
    ) -> None:
        """What the consumer knows of an assigned partition now: the next offset it will
        read (None: unknown) and the high watermark (None: never fetched)."""
        seen = self._seen.get(partition)
        if seen is None:
            self._seen[partition] = _Seen(next_offset, highwater, now)
            return
        was_done = seen.done()
        seen.highwater = highwater
        if next_offset != seen.next_offset:
            if seen.told:
                self._resumed.append(partition)
            seen.next_offset, seen.since, seen.told = next_offset, now, False
        elif was_done and not seen.done():
            seen.since = now  # a wait counts from when there was something to read

    def forget(self, keep: set[K]) -> None:
        """Drop the partitions no longer assigned."""
        for partition in set(self._seen) - keep:
            del self._seen[partition]

    def stalls(self, now: float) -> list[Stall[K]]:
        """The partitions newly found stalled (each told once until it moves)."""
        found = []
        for partition, seen in self._seen.items():
            if seen.told or now - seen.since < self.stall_s:
                continue
            if seen.done():
                continue  # read to its end (or nothing known to be unread)
            high, low = seen.highwater, seen.next_offset
            unread = None if high is None or low is None else high - low
            seen.told = True
            found.append(Stall(partition, unread, now - seen.since))
        return found

    def resumed(self) -> list[K]:
        """The stalled partitions that moved since the last call."""
        moved, self._resumed = self._resumed, []
        return moved


class PositionWatch(Generic[K]):
    """Assigned partitions the consumer has had no fetch position for, for ``stall_s``.

    aiokafka fetches a partition only from a position: the committed offset, or its reset
    (earliest) when there is none. A partition left without one is never fetched, and no
    other watch sees it: its high watermark may be known, nothing is read past its commit,
    and asking for its position waits for ever. Such a partition is due to be sought (from
    its commit, or its start), once per ``stall_s`` while it stays so.

    >>> watch = PositionWatch(stall_s=60)
    >>> watch.observe({"case/1": None, "case/0": 17}, now=0.0)
    []
    >>> watch.observe({"case/1": None, "case/0": 17}, now=61.0)
    ['case/1']
    >>> watch.observe({"case/1": None}, now=100.0)  # sought at 61: a stall_s to take
    []
    >>> watch.observe({"case/1": 0}, now=110.0), watch.observe({"case/1": None}, now=115.0)
    ([], [])
    >>> watch.observe({}, now=120.0), watch.observe({"case/1": None}, now=130.0)  # revoked
    ([], [])
    """

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._since: dict[K, float] = {}

    def observe(self, positions: dict[K, int | None], now: float) -> list[K]:
        """Each assigned partition's fetch position now (None: none); returns those due to
        be sought."""
        for partition in list(self._since):
            if partition not in positions or positions[partition] is not None:
                del self._since[partition]  # no longer assigned, or positioned
        due = []
        for partition, position in positions.items():
            if position is not None:
                continue
            since = self._since.setdefault(partition, now)
            if now - since >= self.stall_s:
                due.append(partition)
                self._since[partition] = now
        return due
