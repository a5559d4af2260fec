"""A watch on the worker's event loop from outside it, and a report of where each of its
tasks and threads waits.

Everything that would tell of a stall (the progress and commit watchers, the heartbeats to
the broker, the log lines of each batch) runs on the event loop. A synchronous step that
blocks the loop stops them all with it, and the worker then says nothing at all: twice in
CI a worker logged nothing for minutes while its input waited. A thread of its own notes
when the loop last ran a one-second timer; past ``stall_s`` it logs where the loop's thread
is, once, and logs again when the loop runs.

>>> import threading
>>> now = [0.0]
>>> said = []
>>> watch = LoopWatchdog(30.0, clock=lambda: now[0], say=said.append)
>>> watch.beat(); now[0] = 31.0; watch.check(); watch.check()
True
False
>>> said[0].splitlines()[0]
"the worker's event loop has not run for 31 s; its thread is in:"
>>> watch.beat(); watch.check(); said[-1]
False
'the event loop runs again after 31 s'

A worker whose loop runs but that stores nothing waits somewhere: :func:`task_report` says
where (``kill -USR1`` a worker's pid to log it; the worker logs it by itself with its
first stall warning).
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable
from types import FrameType
from typing import Any

from infra.process import TASK_REPORT_HEAD

log = logging.getLogger(__name__)


class LoopWatchdog:
    """Told by the loop (:meth:`beat`); checks from a daemon thread started at the first
    beat (:meth:`check` is the whole check, for tests)."""

    def __init__(
        self,
        stall_s: float,
        check_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        say: Callable[[str], None] | None = None,
    ) -> None:
        self.stall_s, self.check_s, self._clock = stall_s, check_s, clock
        self._say = say or (lambda text: log.warning("%s", text))
        self._beat: float | None = None
        self._loop_thread: int | None = None
        self._told_at: float | None = None  # the last beat when a stall was told
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()

    def beat(self) -> None:
        """The loop ran (call from a timer on the loop)."""
        self._beat = self._clock()
        if self._loop_thread is None:
            self._loop_thread = threading.get_ident()

    def start(self) -> None:
        """Check from a daemon thread from now on (idempotent)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="loop-watchdog", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stopped.set()

    def _run(self) -> None:
        while not self._stopped.wait(self.check_s):
            self.check()

    def check(self) -> bool:
        """Whether a stall was told now (the loop not seen for ``stall_s``)."""
        beat = self._beat
        if beat is None:
            return False
        late = self._clock() - beat
        if self._told_at is not None and beat > self._told_at:
            self._say(f"the event loop runs again after {beat - self._told_at:.0f} s")
            self._told_at = None
        if late < self.stall_s or self._told_at is not None:
            return False
        self._told_at = beat
        frame = sys._current_frames().get(self._loop_thread or -1)
        where = "".join(traceback.format_stack(frame)) if frame is not None else "(not found)\n"
        self._say(f"the worker's event loop has not run for {late:.0f} s; its thread is in:\n"
                  + where.rstrip())  # fmt: skip
        return True


def task_report(loop: asyncio.AbstractEventLoop, frames: int = 12) -> str:
    """Each task of ``loop`` with the last ``frames`` of its chain of awaits and what it
    waits on, then each other thread's stack: where a worker that stores nothing waits (a
    future never resolved, a lock, a call in an executor's thread). Frames only, never
    their variables: the detector state would run to megabytes.

    >>> async def stuck(event):
    ...     await event.wait()
    >>> async def look():
    ...     event = asyncio.Event()
    ...     task = asyncio.create_task(stuck(event), name="stuck-one")
    ...     await asyncio.sleep(0)
    ...     text = task_report(asyncio.get_running_loop())
    ...     task.cancel()
    ...     return text
    >>> text = asyncio.run(look())
    >>> "task stuck (stuck-one) waits on <Future pending" in text, "in wait" in text
    (True, True)
    """
    tasks = sorted(asyncio.all_tasks(loop), key=lambda t: t.get_name())
    lines = [f"{TASK_REPORT_HEAD}: {len(tasks)} tasks, {threading.active_count()} threads"]
    for task in tasks:
        coro = task.get_coro()
        name = getattr(coro, "__qualname__", None) or type(coro).__name__
        waiter = getattr(task, "_fut_waiter", None)  # asyncio's own: what the task awaits
        waits = f" waits on {waiter!r:.300}" if waiter is not None else ""
        lines.append(f"task {name} ({task.get_name()[:40]}){waits}")
        lines += _last_frames(_await_chain(coro), frames)
    current = threading.get_ident()
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        if ident != current:
            stack = "".join(traceback.format_stack(frame)).splitlines()
            lines.append(f"thread {names.get(ident, ident)}")
            lines += _last_frames(stack, frames)
    return "\n".join(lines)


def _await_chain(coro: object) -> list[str]:
    """The frames of a suspended coroutine and of each coroutine, generator or async
    generator it awaits in turn, outermost first, formatted as a traceback is."""
    frames: list[FrameType] = []
    for _ in range(200):  # a chain is never this deep; a cycle would be
        frame = _frame_of(coro)
        if frame is not None:
            frames.append(frame)
        awaited = next((getattr(coro, a) for a in _AWAITS if getattr(coro, a, None)), None)
        if frame is not None and awaited is not None and not _frame_of(awaited):
            # a Faust agent's actor is awaited through its coroutine's __await__, which
            # shows no frame: the actor, a local of the awaiting frame, holds the coroutine
            awaited = getattr(frame.f_locals.get("coro"), "it", awaited)
        if awaited is None:
            break
        coro = awaited
    summary = traceback.StackSummary.extract(((f, f.f_lineno) for f in frames),
                                             lookup_lines=True)  # fmt: skip
    return "".join(summary.format()).splitlines()


def _frame_of(coro: object) -> FrameType | None:
    found: FrameType | None = next(
        (getattr(coro, a) for a in _FRAME if getattr(coro, a, None)), None
    )
    return found


_FRAME = ("cr_frame", "gi_frame", "ag_frame")
_AWAITS = ("cr_await", "gi_yieldfrom", "ag_await")


def _last_frames(stack: list[str], frames: int) -> list[str]:
    """The last ``frames`` frames of a formatted stack (two lines each: where, and the
    line of code), indented."""
    starts = [i for i, line in enumerate(stack) if line.lstrip().startswith("File ")]
    kept = stack[starts[-frames] :] if len(starts) > frames else stack
    return ["    " + line.strip() for line in kept]


def consumer_report(app: Any) -> str:
    """What Faust's consumer holds back, beside :func:`task_report`: whether its flow is on,
    the partitions it paused or left out of fetching for a full buffer, and each input
    queue's size, with whether it waits to fall to its low mark before its partition is
    fetched again. Read from Faust's private fields, each only if present."""
    consumer = getattr(app, "consumer", None)
    lines = [f"consumer: flow {'on' if getattr(consumer, 'flow_active', None) else 'OFF'}"]
    for label, field in (("paused", "_paused_partitions"), ("buffer full", "_buffered_partitions"),
                         ("fetched", "_active_partitions")):  # fmt: skip
        tps = getattr(consumer, field, None)
        if tps is not None:
            lines.append(f"  {label}: {_tps(tps)}")
    lines += _unpositioned(consumer)
    subscribed = getattr(getattr(app, "topics", None), "_topics", ()) or ()
    for topic in sorted(subscribed, key=lambda t: sorted(getattr(t, "topics", ()) or ())):
        queue = getattr(topic, "queue", None)  # one per subscription, for all its partitions
        if queue is not None:
            waiting = bool(getattr(queue, "_pending_pressure_drop_callbacks", ()))
            names = ", ".join(sorted(getattr(topic, "topics", ()) or ()))
            mark = " (was full: waits to fall to its low mark)" if waiting else ""
            lines.append(f"  queue of {names}: {queue.qsize()} of {queue.maxsize}{mark}")
    return "\n".join(lines)


def fetch_positions(consumer: Any) -> dict[Any, int | None] | None:
    """aiokafka's fetch position of each partition assigned to Faust's ``consumer`` (None:
    it has none, and is not fetched), read from its subscription state. Asking the consumer
    instead (``position``) waits until the partition has a position, and holds one of the
    two workers of the consumer thread's call queue meanwhile: two such waits stop every
    call into the thread, fetches and commits included. None if the state is not there."""
    _, assignment = _assignment(consumer)
    if assignment is None:
        return None
    try:
        return {
            tp: state.position if state.has_valid_position else None
            for tp, state in ((tp, assignment.state_value(tp)) for tp in list(assignment.tps))
        }
    except Exception:  # read from another thread: it may change meanwhile
        return None


def _assignment(consumer: Any) -> tuple[Any, Any]:
    """aiokafka's consumer under Faust's ``consumer`` and its assignment (their private
    fields), each None if not there."""
    kafka = getattr(getattr(consumer, "_thread", None), "_consumer", None)
    subscription = getattr(getattr(kafka, "_subscription", None), "subscription", None)
    return kafka, getattr(subscription, "assignment", None)


def _unpositioned(consumer: Any) -> list[str]:
    """aiokafka's assigned partitions without a fetch position (never fetched until they
    get one), with whether a reset to a start is pending and whether it is paused; then,
    per partition, the offsets it is at: Faust's commit and last read, aiokafka's fetch
    position and high watermark (a message between the last two is fetched and not
    delivered, or delivered and not committed)."""
    kafka, assignment = _assignment(consumer)
    if assignment is None:
        return []
    try:
        states = sorted(((tp, assignment.state_value(tp)) for tp in list(assignment.tps)),
                        key=lambda pair: (pair[0].topic, pair[0].partition))  # fmt: skip
        lacking = [
            f"{tp.topic}/{tp.partition}"
            + (" (reset pending)" if state.awaiting_reset else "")
            + (" (paused)" if state.paused else "")
            for tp, state in states
            if not state.has_valid_position
        ]
        committed = getattr(consumer, "_committed_offset", {})
        read = getattr(consumer, "_read_offset", {})
        offsets = [
            f"    {tp.topic}/{tp.partition}: committed {committed.get(tp)}, read {read.get(tp)}, "
            f"fetch position {state.position if state.has_valid_position else None}, "
            f"high watermark {kafka.highwater(tp)}"
            for tp, state in states
        ]
    except Exception as exc:  # read from another thread: it may change meanwhile
        return [f"  without a fetch position: unknown ({exc!r})"]
    return [f"  without a fetch position: {', '.join(lacking) or 'none'}", "  offsets:", *offsets]


def _tps(tps: Any) -> str:
    return ", ".join(sorted(f"{tp.topic}/{tp.partition}" for tp in tps)) or "none"
