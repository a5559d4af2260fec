"""Faust's Kafka transport with one per-message cost taken out of its fetch loop.

Faust's fetch loop hands each message to the topics' queues through
``wait_first(deliver(message), suspend_flow.wait())``: the delivery races a rebalance's
flow stop, so a delivery blocked on a full queue is dropped (and read again later) rather
than holding the rebalance up. ``wait_first`` makes four tasks and an ``asyncio.wait`` for
every message, about a quarter of the worker's time with the GIL under a backlog
(``py-spy --gil``, ``bench/bench_pipeline.py --detection off``), although a delivery almost
never waits at all.

With ``CITYBRAIN_WORKER_DELIVERY=inline`` (on trial, off by default: one CI run of the
two-worker restart test failed with it: a partition kept through a rebalance was left
with a hole of unacked messages, re-read from its commit a minute later, and the worker
then raised false "silent" faults)
the delivery first runs inline, up to its first wait. Done by then (the queue had
room, the flow was on), it has won the race: nothing else ran meanwhile. Waiting, it goes
on from where it stopped inside Faust's race, exactly as before; the awaitable
:class:`Resumed` carries it on from its first wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.drivers import aiokafka
from mode.services import WaitArgT, WaitResults
from mode.utils.times import Seconds


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


class Consumer(aiokafka.Consumer):
    """Faust's aiokafka consumer whose fetch loop delivers a message without a race of
    tasks unless the delivery has to wait."""

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
