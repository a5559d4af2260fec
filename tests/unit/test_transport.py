"""The worker's Kafka transport (``streams.transport``): records fetched before a seek back
are not delivered; and the fetch loop's delivery without a task race, where a delivery that
never waits wins inline and one that waits goes on inside Faust's race as before, where a
flow stop still wins over it and cancels it."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, NamedTuple

import faust
import pytest
from faust.transport.drivers.aiokafka import Consumer as FaustConsumer
from faust.types import TP
from prometheus_client import CollectorRegistry

from infra.settings import WorkerSettings, load
from streams import transport
from streams.app import create_app
from streams.logs import QUIET
from streams.metrics import WorkerMetrics
from streams.transport import Consumer, InlineConsumer, InlineTransport, carry_on, superseded


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


def test_the_consumer_logs_under_faust_s_logger_kept_quiet_by_the_worker() -> None:
    assert Consumer.logger.name == "faust.transport.drivers.aiokafka"
    assert Consumer.logger.name.split(".")[0] in QUIET
