"""A watch on the worker's event loop from outside it.

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
"""

from __future__ import annotations

import logging
import sys
import threading
import time
import traceback
from collections.abc import Callable

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
