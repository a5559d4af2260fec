"""The worker's Kafka transport (``streams.transport``): records fetched before a seek back
are not delivered; and the fetch loop's delivery without a task race, where a delivery that
never waits wins inline and one that waits goes on inside Faust's race as before, where a
flow stop still wins over it and cancels it."""

from __future__ import annotations

import asyncio
import doctest
from pathlib import Path
from typing import Any, NamedTuple

import faust
import pytest
from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from faust.types import TP
from mode.utils.queues import FlowControlQueue
from prometheus_client import CollectorRegistry

from infra.settings import WorkerSettings, load
from streams import transport
from streams.app import create_app
from streams.logs import QUIET
from streams.metrics import WorkerMetrics
from streams.transport import (
    DELIVER,
    DROP,
    PASS,
    REPAIR,
    App,
    Consumer,
    Contiguity,
    FlowControl,
    InlineConsumer,
    InlineTransport,
    carry_on,
    superseded,
)


def _consumer() -> Any:
    app = faust.App("transport-test", broker="kafka://127.0.0.1:1", web_enabled=False)
    app.transport = InlineTransport(app.conf.broker_consumer, app)
    return app.consumer


def test_the_worker_consumes_through_this_transport_inline_when_told_to(tmp_path: Path) -> None:
    settings = load(WorkerSettings, worker_data_dir=str(tmp_path))
    assert settings.worker_delivery == "inline"  # the default
    app = create_app(settings, WorkerMetrics.create(CollectorRegistry()))
    assert type(app.consumer) is InlineConsumer
    plain = load(WorkerSettings, worker_data_dir=str(tmp_path / "plain"), worker_delivery="faust")
    app = create_app(plain, WorkerMetrics.create(CollectorRegistry()))
    assert type(app.consumer) is Consumer  # Faust's delivery, without superseded records
    assert isinstance(app.consumer, FaustConsumer)


class _Record(NamedTuple):
    offset: int


TP0, TP1 = TP("water", 0), TP("water", 1)


def test_records_a_seek_moved_the_position_back_over_are_superseded() -> None:
    records = {TP0: [_Record(856), _Record(857)], TP1: [_Record(40), _Record(41)]}
    # water/0 was sought back to its commit (11) after these were fetched; water/1 was not
    assert superseded(records, {TP0: 11, TP1: 42}) == [TP0]
    assert superseded(records, {TP0: 857, TP1: 42}) == [TP0]  # back onto its last record
    assert superseded(records, {TP0: 858, TP1: 45}) == []  # past them (a skipped marker)
    assert superseded(records, {TP0: None}) == []  # no position yet: as Faust did
    assert superseded({TP0: []}, {TP0: 3}) == []


def test_the_consumer_drops_superseded_records_and_delivers_the_rest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetched = {TP0: [_Record(856), _Record(857)], TP1: [_Record(40), _Record(41)]}

    async def fetch(self: Any, timeout: float) -> tuple[Any, Any]:
        return dict(fetched), {TP0, TP1}

    monkeypatch.setattr(FaustConsumer, "_wait_next_records", fetch)
    monkeypatch.setattr(transport, "fetch_positions", lambda consumer: {TP0: 11, TP1: 42})
    records, active = asyncio.run(_consumer()._wait_next_records(1.0))
    assert (records, active) == ({TP1: fetched[TP1]}, {TP0, TP1})
    # without aiokafka's state to read, everything is delivered, as before
    monkeypatch.setattr(transport, "fetch_positions", lambda consumer: None)
    records, _ = asyncio.run(_consumer()._wait_next_records(1.0))
    assert records == fetched


async def _no_wait(log: list[str]) -> str:
    log.append("delivered")
    return "done"


async def _waits(gate: asyncio.Event, log: list[str]) -> str:
    log.append("started")
    await gate.wait()
    log.append("delivered")
    return "done"


async def _raises(gate: asyncio.Event) -> None:
    await gate.wait()
    raise ValueError("decode failed")


def test_a_delivery_that_never_waits_wins_without_a_task() -> None:
    async def run() -> None:
        consumer, log = _consumer(), []
        flow_stop = asyncio.Event()
        created_before = len(asyncio.all_tasks())
        result = await consumer.wait_first(_no_wait(log), flow_stop.wait())
        assert (result.results, result.stopped, log) == (["done"], False, ["delivered"])
        assert len(asyncio.all_tasks()) == created_before  # no task was left behind

    asyncio.run(run())


def test_a_waiting_delivery_goes_on_in_the_race_and_returns_its_value() -> None:
    async def run() -> None:
        consumer, log = _consumer(), []
        gate, flow_stop = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, gate.set)
        result = await consumer.wait_first(_waits(gate, log), flow_stop.wait())
        assert (result.results, result.stopped) == (["done"], False)
        assert log == ["started", "delivered"]

    asyncio.run(run())


def test_a_flow_stop_still_wins_over_a_waiting_delivery_and_cancels_it() -> None:
    async def run() -> None:
        consumer, log = _consumer(), []
        gate, flow_stop = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, flow_stop.set)
        result = await consumer.wait_first(_waits(gate, log), flow_stop.wait())
        assert result.results == [True]  # the flow stop's wait won
        gate.set()
        await asyncio.sleep(0.05)
        assert log == ["started"]  # the delivery was cancelled where it waited

    asyncio.run(run())


def test_an_error_after_the_first_wait_reaches_the_fetch_loop() -> None:
    async def run() -> None:
        consumer = _consumer()
        gate, flow_stop = asyncio.Event(), asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, gate.set)
        with pytest.raises(ValueError, match="decode failed"):
            await consumer.wait_first(_raises(gate), flow_stop.wait())

    asyncio.run(run())


def test_carry_on_passes_values_and_errors_as_await_would() -> None:
    async def inner(fut: asyncio.Future[int]) -> int:
        try:
            return await fut + 1
        except KeyError:
            return -1

    async def run() -> None:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[int] = loop.create_future()
        coro = inner(fut)
        waiting = coro.send(None)
        assert waiting is fut
        loop.call_soon(fut.set_result, 41)
        assert await carry_on(coro, waiting) == 42

        fut2: asyncio.Future[int] = loop.create_future()
        coro2 = inner(fut2)
        waiting2 = coro2.send(None)
        loop.call_soon(fut2.set_exception, KeyError("x"))
        assert await carry_on(coro2, waiting2) == -1

    asyncio.run(run())


def test_the_app_and_consumer_log_under_faust_s_loggers_kept_quiet_by_the_worker() -> None:
    for service in (Consumer, InlineConsumer, App):
        assert service.logger.name.split(".")[0] in QUIET
    assert Consumer.logger.name == InlineConsumer.logger.name == "faust.transport.drivers.aiokafka"


def test_the_transport_s_examples_hold() -> None:
    result = doctest.testmod(transport)
    assert result.attempted >= 5 and result.failed == 0


def test_contiguity_delivers_in_order_and_reads_a_lost_run_again_once() -> None:
    c, at = Contiguity(), {TP0: 0}
    position = lambda: at[TP0]  # noqa: E731
    assert c.judge(TP0, 7, position) == DELIVER  # nothing known yet: the first record
    c.delivered(TP0, 7)
    assert (c.expected(TP0), c.judge(TP0, 8, position), c.judge(TP0, 7, position)) == (
        8, DELIVER, DROP)  # fmt: skip
    c.delivered(TP0, 8)
    at[TP0] = 40  # 9-19 were fetched and never came here
    assert c.judge(TP0, 20, position) == REPAIR
    c.sought(TP0, 9)  # the repair's seek
    at[TP0] = 9
    assert c.judge(TP0, 21, position) == DROP  # fetched before the seek
    assert c.judge(TP0, 9, position) == DELIVER
    c.delivered(TP0, 9)
    at[TP0] = 60
    assert c.judge(TP0, 30, position) == REPAIR  # a new hole: read again too
    assert c.judge(TP0, 30, position) == PASS  # read again, the same hole: not in the log
    c.delivered(TP0, 30)
    at[TP0] = 80
    assert c.judge(TP0, 50, position) == REPAIR  # passing over is not remembered
    c.forget([TP0])
    assert (c.expected(TP0), c.judge(TP0, 3, position)) == (None, DELIVER)
    c.sought(TP0, None)  # not known: any record is the first
    assert c.expected(TP0) is None
    at[TP0] = None  # type: ignore[assignment]
    c.sought(TP0, 0)  # from its log's start, at 0
    assert (c.expected(TP0), c.judge(TP0, 3, position)) == (0, DROP)  # fetched before
    c.sought(TP0, 5)
    assert c.judge(TP0, 9, position) == DROP  # no position: nothing to read again from


def test_a_resume_clears_the_queues_only_when_the_flow_was_suspended() -> None:
    async def run() -> None:
        flow = FlowControl()
        queue: FlowControlQueue[int] = FlowControlQueue(flow_control=flow, clear_on_resume=True)
        queue.put_nowait(1)
        flow.resume()  # suspended at first: the queue is cleared, as Faust does
        assert (flow.is_active(), queue.qsize()) == (True, 0)
        queue.put_nowait(2)
        flow.resume()  # a recovery's second resume: what was delivered since stays
        assert queue.qsize() == 1
        flow.suspend()
        flow.resume()
        assert queue.qsize() == 0

    asyncio.run(run())


def test_the_worker_s_flow_control_is_this_one(tmp_path: Path) -> None:
    settings = load(WorkerSettings, worker_data_dir=str(tmp_path))
    app = create_app(settings, WorkerMetrics.create(CollectorRegistry()))
    assert type(app.flow_control) is FlowControl


class _Message(NamedTuple):
    tp: TP
    offset: int

    @property
    def topic(self) -> str:
        return self.tp.topic


class _Fetcher:
    def __init__(self) -> None:
        self._stopped = asyncio.Event()


def _fed(
    consumer: Any, monkeypatch: pytest.MonkeyPatch, batches: list[list[_Message]]
) -> tuple[_Fetcher, list[tuple[int, int]]]:
    """``consumer``'s fetch loop fed ``batches``, one per fetch (it stops after the last),
    input topics all acked; the fetcher to drain, and the (partition, offset) delivered."""
    fetcher, delivered = _Fetcher(), []

    async def getmany(timeout: float) -> Any:
        if not batches:
            fetcher._stopped.set()
            return
        for message in batches.pop(0):
            yield message.tp, message

    async def callback(message: Any) -> None:
        delivered.append((message.tp.partition, message.offset))

    monkeypatch.setattr(consumer, "getmany", getmany)
    monkeypatch.setattr(consumer, "callback", callback)
    monkeypatch.setattr(consumer.app.topics, "acks_enabled_for", lambda topic: True)
    return fetcher, delivered


def test_the_fetch_loop_reads_a_lost_run_again_and_delivers_each_offset_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A batch arrives with water/0 8-11 missing (Faust dropped them): the loop seeks the
    partition back to 8, drops what was fetched before that seek, and delivers 8 onwards
    once each, as a second fetch brings them."""
    consumer = _consumer()
    batches = [
        [_Message(TP0, 5), _Message(TP0, 6), _Message(TP0, 7), _Message(TP0, 12),
         _Message(TP0, 13), _Message(TP1, 3)],
        [_Message(TP0, 8), _Message(TP0, 9), _Message(TP0, 10), _Message(TP0, 11),
         _Message(TP0, 12), _Message(TP1, 4)],
    ]  # fmt: skip
    at = {TP0: 14, TP1: 4}
    sought: list[tuple[TP, int]] = []
    fetcher, delivered = _fed(consumer, monkeypatch, batches)

    async def seek(tp: TP, offset: int) -> None:
        sought.append((tp, offset))
        at[tp] = offset

    monkeypatch.setattr(consumer, "_seek", seek)
    monkeypatch.setattr(transport, "fetch_positions", lambda consumer: dict(at))

    async def run() -> None:
        consumer.contiguity.sought(TP0, 5)
        await consumer._drain_messages(fetcher)

    asyncio.run(run())
    assert sought == [(TP0, 8)]
    assert [o for p, o in delivered if p == 0] == [5, 6, 7, 8, 9, 10, 11, 12]
    assert [o for p, o in delivered if p == 1] == [3, 4]
    assert consumer.contiguity.expected(TP0) == 13
    assert consumer._read_offset[TP0] == 12


def test_a_partition_kept_without_a_commit_is_read_from_its_start_not_from_stale_records(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A rebalance keeps water/0 before anything of it was committed: its commit is none,
    so the consumer reads it again from its log's start, while records fetched before the
    rebalance (3602 on) still come first. They are dropped and 0 onwards delivered; taken
    for the first, they had made 0 to 3601 look delivered already (dropped, never
    detected: the two-worker test's extra alert)."""
    consumer = _consumer()
    batches = [
        [_Message(TP0, 3602), _Message(TP0, 3603), _Message(TP1, 7)],
        [_Message(TP0, 0), _Message(TP0, 1), _Message(TP0, 2), _Message(TP1, 8)],
    ]
    fetcher, delivered = _fed(consumer, monkeypatch, batches)

    async def committed(self: Any) -> dict[TP, int | None]:
        return {TP0: None, TP1: 7}

    async def earliest(*tps: TP) -> dict[TP, int]:
        assert set(tps) == {TP0}  # only where there is no commit
        return {TP0: 0}

    monkeypatch.setattr(FaustConsumer, "seek_to_committed", committed)
    monkeypatch.setattr(consumer, "earliest_offsets", earliest)
    monkeypatch.setattr(transport, "fetch_positions", lambda consumer: {})  # being reset

    async def run() -> None:
        consumer.contiguity.delivered(TP0, 3601)  # before the rebalance
        consumer.contiguity.forget([TP0, TP1])  # its revoke
        await consumer.seek_to_committed()  # its assignment
        assert (consumer.contiguity.expected(TP0), consumer.contiguity.expected(TP1)) == (0, 7)
        await consumer._drain_messages(fetcher)

    asyncio.run(run())
    assert [o for p, o in delivered if p == 0] == [0, 1, 2]
    assert [o for p, o in delivered if p == 1] == [7, 8]
