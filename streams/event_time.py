"""Event-time order across partitions for the detectors.

The detectors and their silence ticks run on event time, but a consumer reads partitions
unevenly: after a restart, or while a fast producer is ahead of a loaded worker, one
partition's readings can be hours of event time ahead of another's. Fed in consumption
order, a sensor on the lagging partition looks silent, and neighbours are compared across
hours (a water-main pressure dip at 19:00 against its neighbours at 16:00), which raised
false faults and a false incident in the live scenario test.

:class:`EventTimeMerge` applies Kafka Streams' rule (choose the buffered record with the
lowest timestamp, and wait while a partition with nothing buffered may still hold an
earlier one): each partition keeps its own queue, in its own order; the head with the
lowest event time goes next, and nothing goes while a partition with an empty queue still
has unread messages, or was read to its end less than ``idle_s`` ago (a producer may still
be sending its next batch). A partition never seen holds nothing, unless it is expected
(:meth:`EventTimeMerge.expect`: assigned to this worker, not yet read): then it holds the
others until it is seen, or for ``hold_s`` at most from the first read of any partition
after it was expected (an empty partition never is seen; the time a worker spends
restoring its tables before it reads does not count). With one partition the order is
exactly the consumption order.

>>> merge = EventTimeMerge(idle_s=0.0, clock=lambda: 0.0)
>>> merge.add("a", 10, "a@10"); merge.add("a", 30, "a@30"); merge.add("b", 20, "b@20")
>>> merge.read_to("a", 5, caught_up=True); merge.read_to("b", 7, caught_up=False)
>>> merge.release()
['a@10', 'b@20']
>>> merge.read_to("b", 8, caught_up=True); merge.release()
['a@30']
>>> merge.add("b", 50, "b@50"); merge.add("a", 40, "a@40"); merge.read_to("c", 3)
>>> merge.release(), merge.release(final=True)
([], ['a@40', 'b@50'])

An expected partition holds the others until it is seen, or for ``hold_s`` at most once
reading has begun:

>>> now = [0.0]
>>> merge = EventTimeMerge(idle_s=0.0, clock=lambda: now[0])
>>> merge.expect("a", hold_s=15); merge.expect("b", hold_s=15)
>>> now[0] = 100.0  # restoring tables: the holds have not begun
>>> merge.add("a", 90, "a@90"); merge.read_to("a", 0)
>>> merge.release()
[]
>>> merge.add("b", 10, "b@10"); merge.read_to("b", 0)
>>> merge.release()
['b@10', 'a@90']
>>> merge.expect("c", hold_s=15); merge.add("a", 95, "a@95")
>>> merge.release()
[]
>>> now[0] = 115.0
>>> merge.release(), merge.lapsed()
(['a@95'], ['c'])
"""

from __future__ import annotations

import heapq
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Partition(Generic[T]):
    queue: deque[tuple[int, T]] = field(default_factory=deque)
    caught_up_since: float | None = None  # monotonic time it was first seen read to its end
    expected_for: float | None = None  # expected, never seen: holds this long at most...
    expected_until: float | None = None  # ...counted from the first read after: until then


class EventTimeMerge(Generic[T]):
    """Per-partition queues released in event-time order (see the module)."""

    def __init__(self, idle_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self._clock = clock
        self._partitions: dict[Hashable, _Partition[T]] = {}
        self._unstarted: list[_Partition[T]] = []  # expected, their holds not counted yet
        self._lapsed: list[Hashable] = []  # expected, their holds ended before they were seen

    def expect(self, partition: Hashable, hold_s: float) -> None:
        """A partition this worker now reads, not read yet: it holds the others until it is
        seen, for ``hold_s`` at most from the first read of any partition after this call.
        After a restart or a rebalance the first fetches bring one partition's backlog
        before another's; released alone, it would move event time past sensors of the
        other that restored state says were heard of just now, and judge them silent. The
        hold is not counted while the worker restores its tables (no partition is read
        then), which on a loaded box has taken longer than the hold itself."""
        if partition not in self._partitions:
            state: _Partition[T] = _Partition(expected_for=hold_s)
            self._partitions[partition] = state
            self._unstarted.append(state)

    def expected(self) -> list[Hashable]:
        """The partitions expected and not seen yet (whether or not they still hold)."""
        return [p for p, s in self._partitions.items() if s.expected_for is not None]

    def lapsed(self) -> list[Hashable]:
        """The expected partitions whose hold ended before they were seen, since the last
        call (detection went on without them: worth a warning)."""
        out, self._lapsed = self._lapsed, []
        return out

    def _seen(self, partition: Hashable) -> _Partition[T]:
        if self._unstarted:  # reading has begun: the holds of the expected count from now
            now = self._clock()
            for waiting in self._unstarted:
                if waiting.expected_for is not None:
                    waiting.expected_until = now + waiting.expected_for
            self._unstarted.clear()
        state = self._partitions.setdefault(partition, _Partition())
        state.expected_for = state.expected_until = None
        return state

    def add(self, partition: Hashable, ts_ms: int, item: T) -> None:
        """Queue an item read from ``partition``, in the partition's own order."""
        self._seen(partition).queue.append((ts_ms, item))

    def follow(self, partition: Hashable, item: T) -> bool:
        """Queue ``item`` right behind what ``partition`` has queued, at the event time of
        its last (an event with nothing to detect, whose ack must not pass the readings
        before it: the consumer's commit would skip them). False, and nothing queued, if
        the partition has nothing queued: then nothing before it waits.

        >>> merge = EventTimeMerge(idle_s=0.0, clock=lambda: 0.0)
        >>> merge.follow("a", "dead"), merge.add("a", 10, "a@10"), merge.follow("a", "dup")
        (False, None, True)
        >>> merge.read_to("a", 0); merge.release()
        ['a@10', 'dup']
        """
        state = self._partitions.get(partition)
        if state is None or not state.queue:
            return False
        state.queue.append((state.queue[-1][0], item))
        return True

    def read_to(self, partition: Hashable, lag: int, caught_up: bool | None = None) -> None:
        """What the consumer knows of a partition: ``lag`` messages are still unread
        (``caught_up`` overrides, for callers that know it directly)."""
        state = self._seen(partition)
        at_end = lag <= 0 if caught_up is None else caught_up
        if not at_end:
            state.caught_up_since = None
        elif state.caught_up_since is None:
            state.caught_up_since = self._clock()

    def _holds(self, state: _Partition[T], now: float) -> bool:
        if state.queue:
            return False
        if state.expected_for is not None:
            return state.expected_until is None or now < state.expected_until
        since = state.caught_up_since
        return since is None or now - since < self.idle_s

    def release(self, *, final: bool = False) -> list[T]:
        """Every item that can go now, lowest event time first (ties: first partition
        seen first). ``final``: no partition holds the others back (the worker stops
        reading, so nothing earlier can come): everything queued goes."""
        now = self._clock()
        for partition, state in self._partitions.items():
            until = state.expected_until
            if until is not None and now >= until and not state.queue:  # gave up on it: held
                self._lapsed.append(partition)  # no longer, as if never expected
                state.expected_for = state.expected_until = None
                state.caught_up_since = now - self.idle_s
        states = list(self._partitions.values())
        if not final and any(self._holds(s, now) for s in states):
            return []
        # a k-way merge of the queues: only a partition whose queue runs dry can start to
        # hold the others, so that is the one to look at again
        heads = [(s.queue[0][0], i) for i, s in enumerate(states) if s.queue]
        heapq.heapify(heads)  # (event time, partition's place): ties go to the first seen
        out: list[T] = []
        while heads:
            _, i = heads[0]
            queue = states[i].queue
            out.append(queue.popleft()[1])
            if queue:
                heapq.heapreplace(heads, (queue[0][0], i))
            else:
                heapq.heappop(heads)
                if not final and self._holds(states[i], now):
                    break
        return out

    def holding(self) -> list[Hashable]:
        """The partitions that hold the others back just now (nothing queued, maybe not
        read to their end)."""
        now = self._clock()
        return [p for p, s in self._partitions.items() if self._holds(s, now)]

    def queued(self, partition: Hashable) -> int:
        """Items of ``partition`` waiting to be released."""
        state = self._partitions.get(partition)
        return len(state.queue) if state is not None else 0

    def pending(self) -> int:
        """Items queued but not yet released."""
        return sum(len(s.queue) for s in self._partitions.values())

    def clear(self) -> list[T]:
        """Forget every partition (after a rebalance); returns what was still queued."""
        left = [item for s in self._partitions.values() for _, item in s.queue]
        self._partitions.clear()
        self._unstarted.clear()  # the holds and lapses of partitions forgotten go with them
        self._lapsed.clear()
        return left
