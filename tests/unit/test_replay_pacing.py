"""Pacing by event time, on a fake clock: 1x keeps the gaps between events, Nx shrinks them
N times, max never waits; progress ticks keep coming during long waits."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from detectors.contract.events import Family
from replay.pacing import EventPacer
from replay.produce import ReplaySender, pump
from replay.wire import Outgoing


@dataclass
class FakeClock:
    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Recorder(ReplaySender):
    """A sender that notes (wall time, event time) instead of producing."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.sent: list[tuple[float, int]] = []

    def send(self, message: Outgoing) -> None:
        self.sent.append((self.clock.now, message.ts_ms))


def _messages(*ts_ms: int) -> list[Outgoing]:
    return [Outgoing(Family.WATER, b"k", b"{}", ts) for ts in ts_ms]


@pytest.mark.parametrize(("speed", "gap_s"), [(1.0, 60.0), (10.0, 6.0), (600.0, 0.1)])
def test_events_are_sent_at_their_event_time_divided_by_speed(speed: float, gap_s: float) -> None:
    clock = FakeClock()
    sender = Recorder(clock)
    pump(_messages(0, 60_000, 120_000, 120_000), sender, EventPacer(speed, clock=clock),
         sleep=clock.sleep)  # fmt: skip
    walls = [wall - sender.sent[0][0] for wall, _ in sender.sent]
    assert walls == pytest.approx([0.0, gap_s, 2 * gap_s, 2 * gap_s])


def test_max_speed_never_waits() -> None:
    clock = FakeClock()
    sender = Recorder(clock)
    pump(_messages(0, 3_600_000, 7_200_000), sender, EventPacer(None, clock=clock),
         sleep=clock.sleep)  # fmt: skip
    assert clock.sleeps == [] and len(sender.sent) == 3


def test_a_long_wait_is_sliced_so_progress_keeps_coming() -> None:
    clock = FakeClock()
    ticks: list[float] = []
    pump(_messages(0, 10_000), Recorder(clock), EventPacer(1.0, clock=clock),
         tick=lambda: ticks.append(clock.now), sleep=clock.sleep)  # fmt: skip
    assert max(clock.sleeps) <= 0.5 and len(ticks) >= 20


def test_a_late_sender_catches_up_without_waiting() -> None:
    clock = FakeClock()
    pacer = EventPacer(2.0, clock=clock)
    assert pacer.delay(0) == 0.0
    clock.now += 100.0  # far behind schedule
    assert pacer.delay(60_000) == 0.0
    assert pacer.remaining_s(60_000, 120_000) == pytest.approx(30.0)
