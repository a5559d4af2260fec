"""Faust's Kafka transport with a race in its fetch loop closed, and one per-message cost
taken out of it.

**Records a seek has superseded** (always on). Faust's fetch loop asks the consumer thread
for records and, once they arrive, delivers them unless the flow was stopped meanwhile.
A whole rebalance can fall inside that wait: the flow stops, the agents' queues are
cleared, the partitions kept are sought back to their commit, and the flow resumes. The
records then delivered were fetched before the seek: a partition whose commit is at 10
and whose cleared queue held 11 to 855 gets 856 onwards, Faust's read offset jumps past
the hole, and when 11 to 855 are fetched again Faust drops them as already read. They are
never acked, so the partition's commit stays at 10 while the worker goes on: a minute
later the watchdog finds it stuck, the partition is read again from 10, and the readings
of the minutes between arrive late (false "silent" faults). :class:`Consumer` drops a
partition's records when aiokafka's fetch position for it is no longer past them: only a
seek moves a position back, and the next fetch reads them again from where the seek says.
(faust-streaming took the generation check out of this wait on purpose, in its pull
request 235: dropping the records without a seek loses them.)

**Delivery without a task race** (``CITYBRAIN_WORKER_DELIVERY=inline``, the default).
Faust's fetch loop hands each message to the topics' queues through
``wait_first(deliver(message), suspend_flow.wait())``: the delivery races a rebalance's
flow stop, so a delivery blocked on a full queue is dropped (and read again later) rather
than holding the rebalance up. ``wait_first`` makes four tasks and an ``asyncio.wait`` for
every message, about a quarter of the worker's time with the GIL under a backlog
(``py-spy --gil``, ``bench/bench_pipeline.py --detection off``), although a delivery almost
never waits at all. :class:`InlineConsumer` first runs the delivery inline, up to its first
wait. Done by then (the queue had room, the flow was on), it has won the race: nothing else
ran meanwhile. Waiting, it goes on from where it stopped inside Faust's race, exactly as
before; the awaitable :class:`Resumed` carries it on from its first wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator, Mapping, Sequence
from typing import Any, NamedTuple

from faust.transport.drivers import aiokafka
from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds

from streams.watchdog import fetch_positions


class Resumed:
    """The rest of ``coro``, already run up to its first wait (``waiting``, what it
    yielded): awaiting this yields ``waiting`` to the task and from then on passes what the
    task sends or throws into ``coro``, as awaiting ``coro`` itself would have."""

    __slots__ = ("_coro", "_waiting")

    def __init__(self, coro: Coroutine[Any, Any, Any], waiting: Any) -> None:
        self._coro = coro
        self._waiting = waiting

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, waiting = self._coro, self._waiting
        while True:
            try:
                sent = yield waiting
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation, for one: ``coro`` handles it
                try:
                    waiting = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    waiting = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


async def carry_on(coro: Coroutine[Any, Any, Any], waiting: Any) -> Any:
    """``coro`` from its first wait on, as a coroutine (what a task and ``wait_first``
    take)."""
    return await Resumed(coro, waiting)


def superseded(
    records: Mapping[Any, Sequence[Any]], positions: Mapping[Any, int | None]
) -> list[Any]:
    """The partitions of ``records`` (fetched records by partition) whose fetch position
    has been sought back to or before their last record since they were fetched: they will
    be fetched again from there. Consuming moves a position past what it returns; only a
    seek moves it back. A partition without a position, or no longer assigned, is left to
    Faust as before.

    >>> superseded({"a": [_R(856), _R(900)], "b": [_R(5)]}, {"a": 11, "b": 6})
    ['a']
    """
    stale = []
    for tp, batch in records.items():
        position = positions.get(tp)
        if batch and position is not None and position <= batch[-1].offset:
            stale.append(tp)
    return stale


class _R(NamedTuple):  # a record, for the doctest
    offset: int


class Consumer(aiokafka.Consumer):
    """Faust's aiokafka consumer that does not deliver records a seek has superseded."""

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        records, active = await super()._wait_next_records(timeout)
        if records:
            positions = fetch_positions(self)
            stale = superseded(records, positions) if positions is not None else []
            if stale:
                self.log.warning(
                    "Dropped records fetched before a seek (they are fetched again): %s",
                    ", ".join(
                        f"{tp.topic}/{tp.partition} {records[tp][0].offset}-"
                        f"{records[tp][-1].offset} (position now {positions[tp]})"  # type: ignore[index]
                        for tp in stale
                    ),
                )
                records = {tp: batch for tp, batch in records.items() if tp not in stale}
        return records, active


class InlineConsumer(Consumer):
    """:class:`Consumer` whose fetch loop delivers a message without a race of tasks
    unless the delivery has to wait."""

    async def wait_first(self, *coros: WaitArgT, timeout: Seconds | None = None) -> WaitResults:
        if (
            timeout is not None
            or len(coros) != 2
            or not all(asyncio.iscoroutine(c) for c in coros)
            or self._stopped.is_set()
            or self._crashed.is_set()
        ):
            return await super().wait_first(*coros, timeout=timeout)  # type: ignore[arg-type]
        deliver, other = coros  # the fetch loop's (callback(message), suspend_flow.wait())
        try:
            waiting = deliver.send(None)  # type: ignore[union-attr]
        except StopIteration as done:
            other.close()  # type: ignore[union-attr]
            return WaitResults([deliver], [done.value], False)
        except BaseException:
            other.close()  # type: ignore[union-attr]
            raise
        return await super().wait_first(carry_on(deliver, waiting), other)  # type: ignore[arg-type]


# Faust's own logger, not one named after this module: the worker's log settings keep
# Faust's loggers at WARNING (streams.logs.QUIET), and the consumer's lines stay as they were.
Consumer.logger = aiokafka.Consumer.logger


class Transport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer


class InlineTransport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`InlineConsumer`."""

    Consumer = InlineConsumer
