"""Login throttling: after too many failed logins for one username, or from one address,
within a sliding window, further attempts are refused until the oldest failure ages out.

Counting per username stops guessing one account's password from many addresses; counting
per address stops one client trying many usernames. A refused attempt is not checked and
not counted, so a locked name frees itself on time however often it is tried.

The counters live in this process: several dashboard processes (WSGI workers, replicas)
each keep their own, so N processes allow up to N times the limits.

>>> clock = iter([0.0, 1.0, 2.0, 900.5]).__next__
>>> gate = LoginThrottle(user_failures=2, address_failures=10, window_s=900, clock=clock)
>>> gate.failed("li", "10.0.0.7"); gate.failed("li", "10.0.0.7")
>>> gate.refusal("li", "10.0.0.7")
Refusal(scope='user', retry_after_s=898)
>>> gate.refusal("li", "10.0.0.7") is None     # at 900.5 s the first failure has aged out
True
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SWEEP_ABOVE = 10_000
"""Keys kept before expired ones are swept out (memory stays bounded under a spray of
made-up usernames)."""


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused (``scope`` "user" or "address") and when to try again."""

    scope: str
    retry_after_s: int


class LoginThrottle:
    """Failed logins per username and per address in the last ``window_s`` seconds."""

    def __init__(
        self,
        user_failures: int,
        address_failures: int,
        window_s: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.user_failures = user_failures
        self.address_failures = address_failures
        self.window_s = window_s
        self.clock = clock
        self._failures: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def refusal(self, username: str, address: str) -> Refusal | None:
        """A :class:`Refusal` when this attempt must not be checked, else None."""
        now = self.clock()
        with self._lock:
            for scope, key, limit in self._limits(username, address):
                times = self._recent(scope, key, now)
                if len(times) >= limit:
                    wait = times[len(times) - limit] + self.window_s - now
                    return Refusal(scope, max(1, math.ceil(wait)))
        return None

    def failed(self, username: str, address: str) -> None:
        """Count a failed attempt against both the username and the address."""
        now = self.clock()
        with self._lock:
            if len(self._failures) > SWEEP_ABOVE:
                for scope, key in list(self._failures):
                    self._recent(scope, key, now)
            for scope, key, _ in self._limits(username, address):
                self._failures.setdefault((scope, key), deque()).append(now)

    def succeeded(self, username: str) -> None:
        """A correct login clears its username's failures (not its address's: one right
        password must not reopen an address that is trying many names)."""
        with self._lock:
            self._failures.pop(("user", username), None)

    def _limits(self, username: str, address: str) -> tuple[tuple[str, str, int], ...]:
        return (("user", username, self.user_failures),
                ("address", address, self.address_failures))  # fmt: skip

    def _recent(self, scope: str, key: str, now: float) -> deque[float]:
        """The failures of a key still in the window (older ones dropped, empty keys too)."""
        times = self._failures.get((scope, key), deque())
        while times and times[0] <= now - self.window_s:
            times.popleft()
        if not times:
            self._failures.pop((scope, key), None)
        return times
