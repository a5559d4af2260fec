"""Rate control for the producer: a token bucket that sleeps, never spins."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class TokenBucket:
    """Hands out ``rate`` tokens per second, at most ``burst`` at once.

    Take tokens in chunks (say a hundredth of a second's worth) so that sleeps are a few
    milliseconds long, not one per event.

    >>> now = [0.0]
    >>> bucket = TokenBucket(100.0, 10.0, clock=lambda: now[0],
    ...                      sleep=lambda s: now.__setitem__(0, now[0] + s))
    >>> bucket.take(10); bucket.take(10); round(now[0], 3)
    0.1
    """

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _tokens: float = field(init=False, default=0.0)
    _last: float | None = field(init=False, default=None)

    def take(self, tokens: float) -> None:
        """Block until ``tokens`` are available, then spend them."""
        self._refill()
        if self._tokens < tokens:
            self.sleep((tokens - self._tokens) / self.rate)
            self._refill()
        self._tokens -= tokens

    def _refill(self) -> None:
        now = self.clock()
        if self._last is None:
            self._tokens = self.burst
        else:
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
