"""Producer accounting and pacing, with a stand-in for KafkaProducer: every handed event
ends delivered or counted as an error, and the token bucket sleeps instead of spinning."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import pytest
from kafka.errors import KafkaError, KafkaTimeoutError
from kafka.future import Future
from prometheus_client import CollectorRegistry

from detectors.contract.events import Family
from sensors_sim.generator import SimEvent
from sensors_sim.pacing import TokenBucket
from sensors_sim.producer import Pace, Publisher, SimMetrics, Tally, pump
from sensors_sim.summary import run_summary


@dataclass
class StandInProducer:
    """Keeps futures; the test decides which are acknowledged, failed or left hanging."""

    futures: list[Future] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)
    refuse: bool = False
    closed: bool = False

    def send(self, topic: str, value: bytes, key: bytes) -> Future:
        if self.refuse:
            raise KafkaTimeoutError("buffer full")
        self.topics.append(topic)
        future = Future()
        self.futures.append(future)
        return future

    def flush(self, timeout: float | None = None) -> None:
        raise KafkaTimeoutError("flush timed out")

    def close(self, timeout: float | None = None) -> None:
        self.closed = True


def _event(family: Family, reason: str | None = None) -> SimEvent:
    return SimEvent(family, b"K-1", b"{}", reason)


def _publisher() -> tuple[Publisher, StandInProducer, CollectorRegistry]:
    producer = StandInProducer()
    registry = CollectorRegistry()
    publisher = Publisher(producer, "pfx", SimMetrics(registry), Tally())
    return publisher, producer, registry


def test_delivered_failed_and_unsettled_are_all_counted() -> None:
    publisher, producer, registry = _publisher()
    publisher.publish(_event(Family.WATER))
    publisher.publish(_event(Family.WATER, "out_of_range"))
    publisher.publish(_event(Family.CASE))
    publisher.publish(_event(Family.POWER))
    producer.futures[0].success("meta")
    producer.futures[1].success("meta")
    producer.futures[2].failure(KafkaError("broker gone"))
    publisher.close(timeout_s=0.01)  # the fourth never settles
    tally = publisher.tally
    assert producer.topics == ["pfx.water", "pfx.water", "pfx.case", "pfx.power"]
    assert (tally.sent, tally.valid, tally.malformed, tally.send_errors) == (2, 1, 1, 2)
    assert producer.closed
    sample = registry.get_sample_value
    assert sample("citybrain_sim_events_sent_total", {"topic": "pfx.water"}) == 2.0
    assert sample("citybrain_sim_malformed_sent_total", {"reason": "out_of_range"}) == 1.0
    assert sample("citybrain_sim_send_errors_total", {"topic": "pfx.case"}) == 1.0
    summary = run_summary(tally, 2.0, 10.0)
    assert summary["by_family"] == {"water": 2}
    assert summary["by_reason"] == {"out_of_range": 1}
    assert summary["send_errors"] == 2
    assert summary["rate"] == 1.0


def test_a_refused_send_is_an_error_not_a_loss() -> None:
    publisher, producer, registry = _publisher()
    producer.refuse = True
    publisher.publish(_event(Family.TRAFFIC))
    assert publisher.tally.send_errors == 1
    assert (
        registry.get_sample_value("citybrain_sim_send_errors_total", {"topic": "pfx.traffic"})
        == 1.0
    )


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_token_bucket_holds_the_rate_with_few_sleeps() -> None:
    time = FakeTime()
    bucket = TokenBucket(1000.0, burst=10.0, clock=time.clock, sleep=time.sleep)
    for _ in range(100):
        bucket.take(10)
    assert abs(time.now - 0.99) < 1e-9  # the first 10 came from the full bucket
    assert len(time.sleeps) == 99
    assert all(s > 0 for s in time.sleeps)


def test_token_bucket_does_not_sleep_when_time_has_passed() -> None:
    time = FakeTime()
    bucket = TokenBucket(100.0, burst=5.0, clock=time.clock, sleep=time.sleep)
    bucket.take(5)
    time.now += 1.0
    bucket.take(5)
    assert time.sleeps == []


def test_pace_holds_a_low_rate_when_sleeps_run_long() -> None:
    """At 68 events/s (one per chunk) each sleep running 3 ms long must not slow the
    events: the bucket keeps what the late sleep earned."""

    class LateTime(FakeTime):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds + 0.003)

    time = LateTime()
    pace = Pace.at(68.0, max_speed=False)
    assert pace.bucket is not None
    bucket = TokenBucket(68.0, pace.bucket.burst, clock=time.clock, sleep=time.sleep)
    for _ in range(6800):
        bucket.take(pace.chunk)
    assert 6800 / time.now == pytest.approx(68.0, rel=0.01)


def test_pace_chunks_are_about_ten_milliseconds() -> None:
    assert Pace.at(1000.0, max_speed=False).chunk == 10
    assert Pace.at(5.0, max_speed=False).chunk == 1
    assert Pace.at(1000.0, max_speed=True).bucket is None


def test_pump_stops_when_asked() -> None:
    publisher, producer, _ = _publisher()
    stop = threading.Event()
    events = (_event(Family.WATER) for _ in range(10_000))

    def progress() -> None:
        stop.set()

    ticks = iter(range(1_000_000))
    pump(events, publisher, Pace(None, 100), stop, progress, progress_every_s=3,
         clock=lambda: float(next(ticks)))  # fmt: skip
    assert 0 < len(producer.futures) < 10_000
    assert len(producer.futures) % 100 == 0
