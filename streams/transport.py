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

**No holes in an input partition's delivery** (always on). Right after a rebalance Faust
could lose a run of a partition's records between its fetch and the agents: its fetch
loop drops, without a word, the records of a partition it still counts as paused, and each
flow resume of a recovery (there are several) cleared the agents' queues, records already
delivered included. Faust takes a hole in the offsets for a "gap" (a compacted topic's),
counts it as acked and commits past it: the hole's readings were never detected, so their
sensors were judged silent. :class:`Contiguity` knows the offset each input partition must
deliver next, and the fetch loop reads a partition again from the first offset missing;
:class:`FlowControl` clears the queues only when a resume follows a suspension.

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
from collections.abc import Callable, Coroutine, Generator, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import faust
from faust.transport.consumer import CONSUMER_FETCHING, ensure_TP
from faust.transport.drivers import aiokafka
from mode.services import WaitArgT, WaitResults
from mode.utils.objects import cached_property
from mode.utils.queues import FlowControlEvent
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


DELIVER, DROP, REPAIR, PASS = "deliver", "drop", "repair", "pass"


class Contiguity:
    """Where each input partition's delivery stands: the offset it must deliver next. Offsets
    of an input topic have no holes (no compaction, no transactions), so a record past that
    offset means the ones between were lost on the way from the fetch (Faust drops records
    of a partition it counts as paused, and a rebalance clears queues): Faust would take the
    hole as acked (its "gap"), commit past it, and never read it again. Here the partition
    is read again from the missing offset instead, once: if that read comes to the same
    record again, the missing offsets are not in the log (deleted by retention) and are
    passed over.

    >>> c = Contiguity()
    >>> c.sought("w0", 10)
    >>> c.judge("w0", 10, lambda: 11), c.judge("w0", 9, lambda: 11)
    ('deliver', 'drop')
    >>> c.judge("w0", 14, lambda: 10)  # fetched before the seek back to 10: they come again
    'drop'
    >>> c.judge("w0", 14, lambda: 15), c.judge("w0", 14, lambda: 15)  # 10-13 lost
    ('repair', 'pass')
    """

    __slots__ = ("_next", "_tried")

    def __init__(self) -> None:
        self._next: dict[Any, int] = {}
        self._tried: dict[Any, tuple[int, int]] = {}

    def expected(self, tp: Any) -> int | None:
        """The offset ``tp`` must deliver next; None: not known (any record is taken)."""
        return self._next.get(tp)

    def sought(self, tp: Any, offset: int | None) -> None:
        """``tp`` will be read from ``offset`` (None: not known, any record is taken)."""
        if offset is not None and offset >= 0:
            self._next[tp] = offset
        else:
            self._next.pop(tp, None)

    def delivered(self, tp: Any, offset: int) -> None:
        self._next[tp] = offset + 1
        self._tried.pop(tp, None)

    def forget(self, tps: Iterable[Any]) -> None:
        for tp in tps:
            self._next.pop(tp, None)
            self._tried.pop(tp, None)

    def judge(self, tp: Any, offset: int, position: Callable[[], int | None]) -> str:
        """What to do with ``tp``'s record at ``offset``: DELIVER it; DROP it (delivered
        since the last seek, or fetched before a seek to an offset it does not follow);
        REPAIR (the offsets before it were lost: read ``tp`` again from :meth:`expected`);
        PASS the missing offsets over and deliver it (read again, they were still missing).
        ``position`` gives aiokafka's fetch position of ``tp`` (None: it has none)."""
        expected = self._next.get(tp)
        if expected is None or offset == expected:
            return DELIVER
        if offset < expected:
            return DROP
        now = position()
        if now is None or now <= expected:  # sought back to them since: they come again
            return DROP
        if self._tried.get(tp) == (expected, offset):
            return PASS
        self._tried[tp] = (expected, offset)
        return REPAIR


class FlowControl(FlowControlEvent):
    """Faust's flow control of the agents' queues, but a resume clears them only when the
    flow was suspended. A rebalance suspends the flow and clears the queues; its recovery
    then resumes the flow several times (once for the changelogs, again for the standbys,
    again at its end). Each of Faust's resumes cleared the queues, whatever the records
    delivered since the first: a record delivered and cleared is lost, its offset counted
    as read (see :class:`Contiguity`)."""

    def resume(self) -> None:
        suspended = not self.is_active()
        self._suspend.clear()
        self._resume.set()
        if suspended:
            self.clear()


class App(faust.App):
    """Faust's app with :class:`FlowControl`."""

    @cached_property
    def flow_control(self) -> FlowControlEvent:
        return FlowControl(loop=self.loop)


class Consumer(aiokafka.Consumer):
    """Faust's aiokafka consumer that does not deliver records a seek has superseded, and
    delivers each input partition's records without holes (:class:`Contiguity`)."""

    @cached_property
    def contiguity(self) -> Contiguity:
        return Contiguity()

    async def seek(self, partition: Any, offset: int) -> None:
        await super().seek(partition, offset)
        self.contiguity.sought(ensure_TP(partition), offset)

    async def seek_wait(self, partitions: Mapping[Any, int]) -> None:
        await super().seek_wait(partitions)
        for tp, offset in partitions.items():
            self.contiguity.sought(ensure_TP(tp), offset)

    async def seek_to_committed(self) -> Mapping[Any, int]:
        """Seek every partition to its commit; an input partition without one is read from
        its log's start (the consumer's reset, ``earliest``), and :attr:`contiguity` is told
        so: records fetched before a rebalance that kept the partition are dropped, not
        taken for the first (the offsets before them would then be dropped as delivered)."""
        committed = await super().seek_to_committed()
        unknown = [ensure_TP(tp) for tp, offset in committed.items()
                   if not offset and self.app.topics.acks_enabled_for(tp.topic)]  # fmt: skip
        starts: Mapping[Any, int] = {}
        if unknown:
            try:
                starts = {
                    ensure_TP(tp): start
                    for tp, start in (await self.earliest_offsets(*unknown)).items()
                }
            except Exception as exc:  # left unknown: any record is taken, as before
                self.log.warning("no log start of %s: %r", unknown, exc)
        for tp, offset in committed.items():
            tp = ensure_TP(tp)
            self.contiguity.sought(tp, offset if offset else starts.get(tp))
        return committed

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        self.contiguity.forget(revoked)
        await super().on_partitions_revoked(revoked)

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop (``Consumer._drain_messages``), with input partitions'
        records judged by :attr:`contiguity` instead of Faust's read offset and gaps."""
        getmany = self.getmany
        consumer_should_stop = self._stopped.is_set
        fetcher_should_stop = fetcher._stopped.is_set
        set_flag, unset_flag = self.diag.set_flag, self.diag.unset_flag
        expected, deliverable, deliver = self.contiguity.expected, self.deliverable, self.deliver
        num_since_yield = 0
        try:
            while not (consumer_should_stop() or fetcher_should_stop()):
                set_flag(CONSUMER_FETCHING)
                ait = getmany(timeout=1.0)
                # sleeping because getmany may be called in a loop never releasing the loop
                await self.sleep(0)
                if not self.should_stop:
                    async for tp, message in ait:
                        num_since_yield += 1
                        if num_since_yield > 100:
                            await asyncio.sleep(0)
                            num_since_yield = 0
                        offset = message.offset
                        # the common case inline: the offset the partition must deliver next
                        if expected(tp) == offset or await deliverable(tp, message.topic, offset):
                            await deliver(tp, message)
                    unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                self.log.info("Broker stopped consumer, shutting down...")
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                self.log.info("Consumer shutting down for user cancel.")
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            unset_flag(CONSUMER_FETCHING)

    async def deliverable(self, tp: Any, topic: str, offset: int) -> bool:
        """Whether to deliver ``tp``'s record at ``offset`` now; reads ``tp`` again from
        the first offset missing before it (see :class:`Contiguity`). A changelog's record:
        as Faust decides, by its read offset."""
        contiguity = self.contiguity
        expected = contiguity.expected(tp)
        if expected == offset:  # the fetch loop checks this case itself, first
            return True
        if expected is None or not self.app.topics.acks_enabled_for(topic):
            read = self._read_offset[tp]
            return read is None or offset >= read
        verdict = contiguity.judge(tp, offset, lambda: (fetch_positions(self) or {}).get(tp))
        if verdict == REPAIR:
            self.log.warning("%s/%d: offsets %d to %d were lost on the way from the fetch: "
                             "reading them again", tp.topic, tp.partition, expected,
                             offset - 1)  # fmt: skip
            try:
                await self.seek(tp, expected)
            except Exception as exc:  # not assigned any more: its new owner reads them
                self.log.warning("could not read %s/%d again from %d: %r", tp.topic,
                                 tp.partition, expected, exc)  # fmt: skip
            return False
        if verdict == PASS:
            self.log.warning("%s/%d: offsets %d to %d are not in the log (read again, they "
                             "were still missing): passed over", tp.topic, tp.partition,
                             expected, offset - 1)  # fmt: skip
            await self._add_gap(tp, expected, offset - 1)
            return True
        return verdict == DELIVER

    async def deliver(self, tp: Any, message: Any) -> None:
        """Hand ``message`` to its topic's queues, as Faust's fetch loop does; counted as
        delivered unless a flow stop won the race (a rebalance: read again from the
        commit after it)."""
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()
        result = await self.wait_first(self.callback(message), self.suspend_flow.wait())
        self._read_offset[tp] = message.offset
        if not result.stopped and not self.suspend_flow.is_set():
            self.contiguity.delivered(tp, message.offset)

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


# Faust's own loggers, not one named after this module: the worker's log settings keep
# Faust's loggers at WARNING (streams.logs.QUIET), and the app's and the consumer's lines
# stay as they were.
App.logger = faust.App.logger
Consumer.logger = InlineConsumer.logger = aiokafka.Consumer.logger


class Transport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`Consumer`."""

    Consumer = Consumer


class InlineTransport(aiokafka.Transport):
    """Faust's aiokafka transport with :class:`InlineConsumer`."""

    Consumer = InlineConsumer
