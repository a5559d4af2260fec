"""The watch on the worker's event loop: a loop blocked in a synchronous step is told of
from another thread, with where it is blocked, once, and again when it runs."""

from __future__ import annotations

import asyncio
import doctest
import threading
import time
from types import SimpleNamespace
from typing import Any

from faust.types import TP

from streams import watchdog
from streams.watchdog import LoopWatchdog, consumer_report, fetch_positions, task_report


def test_the_examples_hold() -> None:
    assert doctest.testmod(watchdog).failed == 0


def blocking_step() -> None:
    time.sleep(0.6)  # a synchronous step on the loop's thread


def test_a_blocked_loop_is_told_with_its_stack_from_the_watchdogs_thread() -> None:
    said: list[str] = []
    watch = LoopWatchdog(0.3, check_s=0.05, say=said.append)

    async def run() -> None:
        watch.beat()
        watch.start()
        blocking_step()
        watch.beat()
        await asyncio.sleep(0.2)  # the thread sees the loop run again

    asyncio.run(run())
    watch.stop()
    assert len(said) == 2
    assert said[0].startswith("the worker's event loop has not run for")
    assert "in blocking_step" in said[0]  # where the loop's thread is
    assert said[1].startswith("the event loop runs again after")


class Actor:
    """As Faust's actor: awaitable through its coroutine's ``__await__``, which shows no
    frame of its own."""

    def __init__(self, it: Any) -> None:
        self.it = it

    def __await__(self) -> Any:
        return self.it.__await__()


async def execute(coro: Actor) -> None:
    await coro


async def agent_body(event: asyncio.Event) -> None:
    await write_rows(event)


async def write_rows(event: asyncio.Event) -> None:
    await event.wait()


def test_the_task_report_follows_awaits_through_an_actor_to_where_it_waits() -> None:
    async def run() -> str:
        event = asyncio.Event()
        task = asyncio.create_task(execute(Actor(agent_body(event))), name="agent")
        await asyncio.sleep(0)
        text = task_report(asyncio.get_running_loop())
        event.set()
        await task
        return text

    text = asyncio.run(run())
    assert text.startswith("where the worker waits: ")
    lines = text.splitlines()
    at = lines.index(next(line for line in lines if line.startswith("task execute (agent)")))
    chain = "\n".join(lines[at : at + 12])
    assert chain.index("in execute") < chain.index("in agent_body") < chain.index("in write_rows")
    assert "waits on <Future pending" in lines[at]


def test_the_task_report_shows_other_threads_stacks() -> None:
    release = threading.Event()
    thread = threading.Thread(target=release.wait, name="clickhouse_0", daemon=True)
    thread.start()

    async def run() -> str:
        return task_report(asyncio.get_running_loop())

    try:
        text = asyncio.run(run())
    finally:
        release.set()
        thread.join()
    assert "thread clickhouse_0" in text
    assert "in wait" in text.split("thread clickhouse_0", 1)[1]


def test_the_consumer_report_names_a_partition_left_out_for_a_full_buffer() -> None:
    tp = TP("cb.water", 2)
    queue: asyncio.Queue[int] = asyncio.Queue(maxsize=10)
    for n in range(9):
        queue.put_nowait(n)
    queue._pending_pressure_drop_callbacks = {print}  # type: ignore[attr-defined]
    consumer = SimpleNamespace(flow_active=True, _paused_partitions=set(),
                               _buffered_partitions={tp}, _active_partitions=set())  # fmt: skip
    topic = SimpleNamespace(topics=("cb.water", "cb.air"), queue=queue)
    app = SimpleNamespace(consumer=consumer, topics=SimpleNamespace(_topics=[topic]))
    assert consumer_report(app).splitlines() == [
        "consumer: flow on",
        "  paused: none",
        "  buffer full: cb.water/2",
        "  fetched: none",
        "  queue of cb.air, cb.water: 9 of 10 (was full: waits to fall to its low mark)",
    ]


def test_fetch_positions_reads_aiokafkas_state_without_asking_the_consumer() -> None:
    states = {
        TP("cb.case", 1): SimpleNamespace(has_valid_position=False, position=None),
        TP("cb.case", 0): SimpleNamespace(has_valid_position=True, position=17),
    }
    assignment = SimpleNamespace(tps=set(states), state_value=states.__getitem__)
    kafka = SimpleNamespace(_subscription=SimpleNamespace(
        subscription=SimpleNamespace(assignment=assignment)))  # fmt: skip
    consumer = SimpleNamespace(_thread=SimpleNamespace(_consumer=kafka))
    assert fetch_positions(consumer) == {TP("cb.case", 1): None, TP("cb.case", 0): 17}
    assert fetch_positions(SimpleNamespace()) is None  # not Faust's aiokafka consumer
