"""The watch on the worker's event loop: a loop blocked in a synchronous step is told of
from another thread, with where it is blocked, once, and again when it runs."""

from __future__ import annotations

import asyncio
import doctest
import time

from streams import watchdog
from streams.watchdog import LoopWatchdog


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
