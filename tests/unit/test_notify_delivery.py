"""Delivery to one webhook: retries with backoff on a fake clock, permanent failures, the
bounded queue, and the dispatcher; no real sleeps and no network."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from prometheus_client import CollectorRegistry

from streams.notifier import (
    FAIL,
    RETRY,
    SENT,
    Notifier,
    NotifierMetrics,
    Outgoing,
    Reply,
    WebhookSender,
    World,
    backoff_s,
    judge,
)
from streams.notify_config import NotifyConfig, WebhookConfig, parse_config
from streams.notify_format import dingtalk_signed_url
from tests.unit.test_notify_format import alert_record

WALL_MS = 1_700_000_000_000


class FakeClock:
    """Monotonic time that moves only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def world(self) -> World:
        return World(self.monotonic, lambda: WALL_MS, self.sleep, lambda: 0.5)


class FakePost:
    """Answers from a script (a Reply, or an exception to raise); records each request."""

    def __init__(self, *script: Reply | BaseException) -> None:
        self.script = list(script)
        self.calls: list[tuple[str, dict[str, Any], float]] = []

    async def __call__(self, url: str, body: bytes, timeout_s: float) -> Reply:
        self.calls.append((url, json.loads(body), timeout_s))
        answer = self.script.pop(0) if self.script else Reply(200, '{"errcode": 0}')
        if isinstance(answer, BaseException):
            raise answer
        return answer


@pytest.fixture
def registry() -> Iterator[CollectorRegistry]:
    yield CollectorRegistry()


def webhook(**fields: Any) -> WebhookConfig:
    data = {"name": "w", "url": "http://127.0.0.1:1/hook", **fields}
    return parse_config({"webhooks": [data]}, {}).webhooks[0]


def value(registry: CollectorRegistry, name: str, **labels: str) -> float:
    return registry.get_sample_value(name, {"webhook": "w", **labels}) or 0.0


def sender(post: FakePost, clock: FakeClock, registry: CollectorRegistry, **fields: Any) -> Any:
    return WebhookSender(webhook(**fields), post, NotifierMetrics.create(registry), clock.world())


def item(event_id: str = "e-1") -> Outgoing:
    return Outgoing(event_id, json.dumps({"event_id": event_id}).encode(), 0.0)


# -- decisions ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fmt", "reply", "verdict", "reason"),
    [
        ("generic", Reply(200), SENT, ""),
        ("generic", Reply(204), SENT, ""),
        ("generic", Reply(500), RETRY, "http_500"),
        ("generic", Reply(503), RETRY, "http_503"),
        ("generic", Reply(429), RETRY, "http_429"),
        ("generic", Reply(408), RETRY, "http_408"),
        ("generic", Reply(400), FAIL, "http_4xx"),
        ("generic", Reply(404), FAIL, "http_4xx"),
        ("generic", Reply(302), FAIL, "http_3xx"),
        ("dingtalk", Reply(200, '{"errcode":0,"errmsg":"ok"}'), SENT, ""),
        ("dingtalk", Reply(200, '{"errcode":310000,"errmsg":"sign not match"}'), FAIL, "errcode"),
        ("dingtalk", Reply(200, '{"errcode":130101,"errmsg":"send too fast"}'), RETRY, "errcode"),
        ("wecom", Reply(200, '{"errcode":0,"errmsg":"ok"}'), SENT, ""),
        ("wecom", Reply(200, '{"errcode":45009,"errmsg":"api freq out of limit"}'), RETRY,
         "errcode"),
        ("wecom", Reply(200, '{"errcode":93000,"errmsg":"invalid webhook url"}'), FAIL, "errcode"),
        ("wecom", Reply(200, "<html>proxy</html>"), FAIL, "bad_reply"),
        ("wecom", Reply(200, "[]"), FAIL, "bad_reply"),
    ],
)  # fmt: skip
def test_judging_a_reply(fmt: str, reply: Reply, verdict: str, reason: str) -> None:
    assert judge(fmt, reply) == (verdict, reason)


def test_backoff_doubles_to_a_cap_with_bounded_jitter() -> None:
    assert [backoff_s(n, 1.0, 60.0, 0.5) for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]
    for jitter in (0.0, 0.25, 0.999):
        assert 0.8 * 4 <= backoff_s(3, 1.0, 60.0, jitter) < 1.2 * 4


# -- one webhook -------------------------------------------------------------------------
def test_fails_twice_then_succeeds(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(Reply(500, "busy"), TimeoutError(), Reply(200))
    assert asyncio.run(sender(post, clock, registry, timeout_s=7).deliver(item()))
    assert clock.sleeps == [1.0, 2.0]  # backoff 1, 2 (jitter 0.5 = none)
    assert [(c[1], c[2]) for c in post.calls] == [({"event_id": "e-1"}, 7.0)] * 3
    assert value(registry, "citybrain_notify_sent_total") == 1
    assert value(registry, "citybrain_notify_retries_total") == 2
    assert value(registry, "citybrain_notify_latency_seconds_sum") == 3.0
    failed = [m for m in registry.collect() if m.name == "citybrain_notify_failed"]
    assert failed[0].samples == []


def test_a_connection_error_is_retried(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(ConnectionRefusedError(), Reply(200))
    assert asyncio.run(sender(post, clock, registry).deliver(item()))
    assert clock.sleeps == [1.0]


def test_a_client_error_is_not_retried(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(Reply(400, "bad request"), Reply(200))
    assert not asyncio.run(sender(post, clock, registry).deliver(item()))
    assert len(post.calls) == 1 and clock.sleeps == []
    assert value(registry, "citybrain_notify_failed_total", reason="http_4xx") == 1
    assert value(registry, "citybrain_notify_sent_total") == 0


def test_a_rejecting_robot_is_not_retried(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(Reply(200, '{"errcode": 310000, "errmsg": "keywords not in content"}'))
    assert not asyncio.run(sender(post, clock, registry, format="dingtalk").deliver(item()))
    assert len(post.calls) == 1
    assert value(registry, "citybrain_notify_failed_total", reason="errcode") == 1


def test_too_many_requests_waits_as_long_as_asked(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(Reply(429, retry_after_s=7.0), Reply(429, retry_after_s=900.0), Reply(200))
    assert asyncio.run(sender(post, clock, registry, backoff_max_s=30).deliver(item()))
    assert clock.sleeps == [7.0, 30.0]  # Retry-After honoured, within the cap


def test_gives_up_after_max_attempts(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(*[Reply(503)] * 10)
    assert not asyncio.run(sender(post, clock, registry, max_attempts=4).deliver(item()))
    assert len(post.calls) == 4 and clock.sleeps == [1.0, 2.0, 4.0]
    assert value(registry, "citybrain_notify_failed_total", reason="exhausted") == 1
    assert value(registry, "citybrain_notify_retries_total") == 3


def test_gives_up_when_the_next_try_would_be_too_late(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(*[Reply(503)] * 10)
    assert not asyncio.run(sender(post, clock, registry, max_age_s=2.5).deliver(item()))
    assert len(post.calls) == 2 and clock.sleeps == [1.0]  # 1 + 2 > 2.5
    assert value(registry, "citybrain_notify_failed_total", reason="expired") == 1


def test_dingtalk_is_signed_on_each_attempt(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    post = FakePost(Reply(200, '{"errcode": 0}'))
    ding = sender(post, clock, registry, format="dingtalk", secret="SEC1",
                  url="https://oapi.dingtalk.com/robot/send?access_token=T")  # fmt: skip
    assert asyncio.run(ding.deliver(item()))
    url = post.calls[0][0]
    assert url == dingtalk_signed_url(
        "https://oapi.dingtalk.com/robot/send?access_token=T", "SEC1", WALL_MS
    )
    query = parse_qs(urlsplit(url).query)
    assert query["access_token"] == ["T"] and query["timestamp"] == [str(WALL_MS)]


def test_posts_are_paced(registry: CollectorRegistry) -> None:
    clock = FakeClock()
    paced = sender(FakePost(), clock, registry, min_interval_s=3)

    async def twice() -> None:
        await paced.deliver(item("e-1"))
        await paced.deliver(item("e-2"))

    asyncio.run(twice())
    assert clock.sleeps == [3.0]


def test_a_full_queue_drops_the_oldest(registry: CollectorRegistry) -> None:
    clock = FakeClock()

    async def offer_five() -> list[str]:
        queue = sender(FakePost(), clock, registry, queue_size=2)
        for n in range(5):
            queue.offer(alert_record(event_id=f"e-{n}"))
        return [queue.queue.get_nowait().event_id for _ in range(queue.queue.qsize())]

    assert asyncio.run(offer_five()) == ["e-3", "e-4"]
    assert value(registry, "citybrain_notify_failed_total", reason="overflow") == 3
    assert value(registry, "citybrain_notify_queue_depth") == 2


# -- every webhook -----------------------------------------------------------------------
class HangingPost(FakePost):
    """A webhook that never answers."""

    async def __call__(self, url: str, body: bytes, timeout_s: float) -> Reply:
        self.calls.append((url, json.loads(body), timeout_s))
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


def test_a_hanging_webhook_does_not_hold_up_the_others(registry: CollectorRegistry) -> None:
    config = parse_config(
        {"webhooks": [{"name": "hang", "url": "http://h/1"}, {"name": "ok", "url": "http://h/2"}]},
        {},
    )
    hanging, working = HangingPost(), FakePost()
    metrics = NotifierMetrics.create(registry)

    async def scenario() -> None:
        senders = {
            "hang": WebhookSender(config.webhooks[0], hanging, metrics, World()),
            "ok": WebhookSender(config.webhooks[1], working, metrics, World()),
        }
        tasks = [asyncio.create_task(s.run()) for s in senders.values()]
        notifier = Notifier(config, senders, metrics)
        for n in range(3):
            notifier.dispatch(json.dumps(alert_record(event_id=f"e-{n}")).encode())
        await asyncio.wait_for(senders["ok"].queue.join(), 5)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    asyncio.run(scenario())
    assert [c[1]["event"]["event_id"] for c in working.calls] == ["e-0", "e-1", "e-2"]
    assert len(hanging.calls) == 1  # still waiting for its first answer


def test_dispatch_counts_what_it_cannot_use(registry: CollectorRegistry) -> None:
    config = parse_config({"webhooks": [{"name": "w", "url": "http://h/1", "min_level": "II"}]}, {})
    metrics = NotifierMetrics.create(registry)

    async def scenario() -> list[int]:
        senders = {"w": WebhookSender(config.webhooks[0], FakePost(), metrics, World())}
        notifier = Notifier(config, senders, metrics)
        raws = [
            json.dumps(alert_record(event_id="e-1", level="I")).encode(),
            json.dumps(alert_record(event_id="e-1", level="I")).encode(),  # re-delivered
            json.dumps(alert_record(event_id="e-2", level="IV")).encode(),  # below II
            b"not json",
            None,
        ]
        return [notifier.dispatch(raw) for raw in raws]

    assert asyncio.run(scenario()) == [1, 0, 0, 0, 0]
    counts = {
        result: registry.get_sample_value("citybrain_notify_events_total", {"result": result})
        for result in ("routed", "duplicate", "unrouted", "invalid")
    }
    assert counts == {"routed": 1, "duplicate": 1, "unrouted": 1, "invalid": 2}


def test_no_webhooks_is_a_valid_notifier(registry: CollectorRegistry) -> None:
    notifier = Notifier(NotifyConfig(), {}, NotifierMetrics.create(registry))
    assert notifier.dispatch(json.dumps(alert_record()).encode()) == 0
