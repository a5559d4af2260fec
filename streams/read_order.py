"""Each input partition stored in offset order, without holes, and by its owner only.

A roll-up row carries the highest offset folded into it, and a re-delivered message whose
offset is at or below it is skipped (:mod:`streams.rollup`). That is exact only while a
partition's messages are folded in offset order: a batch left unstored (a rebalance came
while it was loaded) followed by the next one of the same partition would stamp rows past
offsets never folded, and when those are read again the rows that moved on skip them. (One
takeover trial ended 1 to 3 of 104,253 events short in its street, district and city
roll-ups while every grid cell and raw row was right: what this would leave; the path that
led there was not found.) So the worker admits a message for storage only where it
continues what the partition has stored:

- after the state is dropped (a rebalance), a partition's next message must be at or
  before its committed offset: everything below the commit is stored and folded;
- after that, each message must be the next offset, or one already seen (a re-delivery);
- a partition this worker does not own now is never stored here (its owner reads it).

What is not admitted is not stored, acked or detected; the partition is read again from
the first offset it is missing (:meth:`ReadOrder.rewinds`). Offsets that stay missing for
``give_up_s`` after being asked for again (Kafka's retention deleted them) are let go,
with a warning.

>>> order = ReadOrder(clock=lambda: 0.0)
>>> owned = {("t", 0)}
>>> order.admit([("t", 0, 5), ("t", 0, 6)], lambda tp: 5, owned)
[True, True]
>>> order.admit([("t", 0, 9), ("t", 0, 10), ("t", 1, 3)], lambda tp: 5, owned)
[False, False, False]
>>> order.rewinds()
{('t', 0): 7}
>>> order.admit([("t", 0, 6), ("t", 0, 7), ("t", 0, 8)], lambda tp: 5, owned)
[True, True, True]
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container, Sequence

log = logging.getLogger(__name__)

TP = tuple[str, int]
GIVE_UP_S = 60.0
"""How long offsets asked for again may stay missing before they are taken as deleted."""
ASK_AGAIN_S = 10.0


class ReadOrder:
    """Which messages of a batch may be stored (see the module)."""

    def __init__(self, give_up_s: float = GIVE_UP_S, clock: Callable[[], float] = time.monotonic):
        self.give_up_s = give_up_s
        self._clock = clock
        self._next: dict[TP, int] = {}  # the first offset of each partition not yet stored
        self._asked: dict[TP, tuple[int, float, float]] = {}  # from, first and last asked
        self._rewinds: dict[TP, int] = {}
        self.held_back = 0  # messages not admitted, in all

    def forget(self) -> None:
        """The stored state was dropped: each partition starts again from its commit."""
        self._next.clear()

    def admit(
        self,
        messages: Sequence[tuple[str, int, int]],
        committed: Callable[[TP], int | None],
        owned: Container[TP],
    ) -> list[bool]:
        """For each (topic, partition, offset) in consumption order, whether to store it."""
        keep: list[bool] = []
        stopped: set[TP] = set()
        for topic, partition, offset in messages:
            tp = (topic, partition)
            if tp not in owned or tp in stopped:
                keep.append(False)
                continue
            expected = self._next.get(tp)
            if expected is None:
                expected = committed(tp)
                if expected is None or expected < 0:  # never committed: it starts here
                    expected = offset
            if offset > expected and not self._gone(tp, expected, offset):
                stopped.add(tp)
                keep.append(False)
                continue
            self._next[tp] = max(expected, offset + 1)
            keep.append(True)
        self.held_back += keep.count(False)
        return keep

    def _gone(self, tp: TP, expected: int, offset: int) -> bool:
        """Whether offsets ``expected`` .. ``offset - 1`` are to be let go (asked for again
        ``give_up_s`` ago and still missing); if not, asks for them again (at once, then
        every :data:`ASK_AGAIN_S`: a read again can fail amid a rebalance)."""
        now = self._clock()
        asked = self._asked.get(tp)
        if asked is None or asked[0] != expected:
            self._asked[tp] = (expected, now, now)
            self._rewinds[tp] = expected
            log.info("%s/%d: offsets %d..%d were not stored before %d: read again from %d",
                     *tp, expected, offset - 1, offset, expected)  # fmt: skip
            return False
        _, first, last = asked
        if now - first < self.give_up_s:
            if now - last >= ASK_AGAIN_S:
                self._asked[tp] = (expected, first, now)
                self._rewinds[tp] = expected
            return False
        log.warning("%s/%d: offsets %d..%d still missing %.0f s after being read again: "
                    "taken as deleted from Kafka", *tp, expected, offset - 1,
                    now - first)  # fmt: skip
        del self._asked[tp]
        return True

    def rewinds(self) -> dict[TP, int]:
        """The partitions to read again, each from the first offset it is missing (once)."""
        out, self._rewinds = self._rewinds, {}
        return out
