"""``python -m streams.notifier``: send alert events to webhooks (generic JSON, DingTalk and
WeCom robots), in a process of its own so that a slow or dead webhook never holds up the
worker.

It reads the alerts topic in its own consumer group and commits a batch's offsets once the
batch is in the webhooks' queues, whatever the webhooks answer later: delivery is at least
once into the queues, and a notification still queued when the process dies is lost (the
alert itself is in ClickHouse and on the dashboard). Each webhook has a bounded queue (when
full, the oldest message is dropped and counted) and one sender that posts one message at a
time and retries with exponential backoff and jitter.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import random
import signal
import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import aiohttp
from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

from infra.settings import NotifierSettings, SettingsError, load
from infra.topics import alerts_topic
from streams.notify_config import ConfigError, NotifyConfig, WebhookConfig, load_config, route
from streams.notify_format import RecordError, dingtalk_signed_url, parse_record, render

log = logging.getLogger("citybrain.notifier")

SENT, RETRY, FAIL = "sent", "retry", "fail"
# errcodes a robot answers with HTTP 200 that mean "later": system busy (-1, both),
# DingTalk's "sending too fast" (130101), WeCom's "over the call limit" (45009).
RETRY_ERRCODES = frozenset({-1, 130101, 45009})
_LATENCY = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


# -- the world ---------------------------------------------------------------------------
def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


@dataclass(frozen=True)
class World:
    """Clocks, sleep and jitter: production defaults, fakes in tests."""

    monotonic: Callable[[], float] = time.monotonic
    wall_ms: Callable[[], int] = _wall_ms  # DingTalk's signature carries the wall clock
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random


@dataclass(frozen=True)
class Reply:
    """What a webhook answered."""

    status: int
    body: str = ""
    retry_after_s: float | None = None


class Post(Protocol):
    """POST a JSON body; raises TimeoutError or OSError/aiohttp.ClientError on no answer."""

    async def __call__(self, url: str, body: bytes, timeout_s: float) -> Reply: ...


def aiohttp_post(session: aiohttp.ClientSession) -> Post:
    """The production :class:`Post` over one shared session."""

    async def post(url: str, body: bytes, timeout_s: float) -> Reply:
        async with session.post(
            url,
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=aiohttp.ClientTimeout(total=timeout_s),
            allow_redirects=False,
        ) as response:
            text = await response.text(errors="replace")
            return Reply(
                response.status, text[:2000], _seconds(response.headers.get("Retry-After"))
            )

    return post


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None  # an HTTP date: rare enough to fall back on our own backoff


# -- metrics -----------------------------------------------------------------------------
@dataclass(frozen=True)
class NotifierMetrics:
    sent: Counter
    failed: Counter
    retries: Counter
    queue_depth: Gauge
    latency: Histogram
    events: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> NotifierMetrics:
        p = "citybrain_notify_"
        return cls(
            sent=Counter(p + "sent", "Messages a webhook accepted", ["webhook"], registry=registry),
            failed=Counter(
                p + "failed", "Messages given up (reason: http_4xx, errcode, bad_reply, "
                "exhausted, expired, overflow, format, internal)", ["webhook", "reason"],
                registry=registry,
            ),
            retries=Counter(p + "retries", "Attempts retried", ["webhook"], registry=registry),
            queue_depth=Gauge(
                p + "queue_depth", "Messages waiting for a webhook", ["webhook"], registry=registry
            ),
            latency=Histogram(
                p + "latency_seconds", "From queued to accepted, retries included", ["webhook"],
                buckets=_LATENCY, registry=registry,
            ),
            events=Counter(
                p + "events", "Alert events read (result: routed, unrouted, duplicate, invalid)",
                ["result"], registry=registry,
            ),
        )  # fmt: skip


# -- decisions ---------------------------------------------------------------------------
def judge(fmt: str, reply: Reply) -> tuple[str, str]:
    """(SENT | RETRY | FAIL, reason) for a webhook's answer."""
    if reply.status in (408, 429) or reply.status >= 500:
        return RETRY, f"http_{reply.status}"
    if not 200 <= reply.status < 300:
        return FAIL, f"http_{reply.status // 100}xx"
    if fmt == "generic":
        return SENT, ""
    try:
        errcode = json.loads(reply.body).get("errcode")
    except (ValueError, AttributeError):
        return FAIL, "bad_reply"
    if errcode == 0:
        return SENT, ""
    if not isinstance(errcode, int):
        return FAIL, "bad_reply"
    return (RETRY if errcode in RETRY_ERRCODES else FAIL), "errcode"


def backoff_s(retry: int, base_s: float, cap_s: float, jitter: float) -> float:
    """The wait before the ``retry``-th retry: base, 2 base, 4 base ... times a factor in
    [0.8, 1.2) drawn from ``jitter`` in [0, 1), at most ``cap_s``.

    >>> [backoff_s(n, 1.0, 60.0, 0.5) for n in (1, 2, 3, 4, 6, 7)]
    [1.0, 2.0, 4.0, 8.0, 32.0, 60.0]
    >>> backoff_s(1, 1.0, 60.0, 0.0), backoff_s(1, 1.0, 60.0, 0.99)
    (0.8, 1.196)
    """
    return round(min(cap_s, base_s * 2.0 ** (retry - 1) * (0.8 + 0.4 * jitter)), 6)


# -- one webhook -------------------------------------------------------------------------
@dataclass(frozen=True)
class Attempt:
    """How one POST went."""

    verdict: str  # SENT, RETRY or FAIL
    reason: str  # the metric label when it fails
    detail: str  # for the log
    retry_after_s: float | None = None


@dataclass(frozen=True)
class Outgoing:
    event_id: str
    body: bytes
    queued_at: float  # monotonic


class WebhookSender:
    """One webhook's queue, and the task that empties it one message at a time."""

    def __init__(
        self, hook: WebhookConfig, post: Post, metrics: NotifierMetrics, world: World
    ) -> None:
        self.hook = hook
        self.queue: asyncio.Queue[Outgoing] = asyncio.Queue(hook.queue_size)
        self._post = post
        self._metrics = metrics
        self._world = world
        self._last_post = -float("inf")

    def offer(self, record: Mapping[str, Any]) -> None:
        """Queue a message for ``record``; never waits (a full queue drops its oldest)."""
        try:
            message = render(self.hook.format, record)
            body = json.dumps(message, ensure_ascii=False, allow_nan=False).encode()
        except Exception:
            log.exception("%s: cannot format event %s", self.hook.name, record["event_id"])
            self._failed("format")
            return
        if self.queue.full():
            dropped = self.queue.get_nowait()
            self.queue.task_done()
            self._failed("overflow")
            log.warning("%s: queue full, dropped event %s", self.hook.name, dropped.event_id)
        self.queue.put_nowait(Outgoing(str(record["event_id"]), body, self._world.monotonic()))
        self._observe_depth()

    async def run(self) -> None:
        """Deliver queued messages until cancelled."""
        while True:
            item = await self.queue.get()
            self._observe_depth()
            try:
                await self.deliver(item)
            except Exception:
                log.exception("%s: delivering event %s failed", self.hook.name, item.event_id)
                self._failed("internal")
            finally:
                self.queue.task_done()

    async def deliver(self, item: Outgoing) -> bool:
        """Post ``item`` until accepted, refused for good, out of attempts or too old."""
        hook, now = self.hook, self._world.monotonic
        for attempt in range(1, hook.max_attempts + 1):
            await self._pace()
            tried = await self._attempt(item)
            if tried.verdict == SENT:
                self._metrics.sent.labels(hook.name).inc()
                self._metrics.latency.labels(hook.name).observe(now() - item.queued_at)
                return True
            if tried.verdict == FAIL:
                return self._give_up(item, tried.reason, tried.detail)
            if attempt == hook.max_attempts:
                return self._give_up(item, "exhausted", f"{attempt} attempts, last {tried.detail}")
            delay = self._delay(attempt, tried.retry_after_s)
            if now() + delay - item.queued_at > hook.max_age_s:
                return self._give_up(item, "expired", f"{attempt} attempts, last {tried.detail}")
            self._metrics.retries.labels(hook.name).inc()
            log.info("%s: event %s: %s, retry in %.1f s", hook.name, item.event_id, tried.detail,
                     delay)  # fmt: skip
            await self._world.sleep(delay)
        return False  # max_attempts >= 1: not reached

    async def _attempt(self, item: Outgoing) -> Attempt:
        self._last_post = self._world.monotonic()
        try:
            reply = await self._post(self._url(), item.body, self.hook.timeout_s)
        except TimeoutError:
            return Attempt(RETRY, "timeout", f"timeout: no answer in {self.hook.timeout_s} s")
        except (aiohttp.ClientError, OSError) as exc:
            # the exception's text may hold the URL, and so the robot's token: not logged
            where = (
                f" to {exc.host}:{exc.port}"
                if isinstance(exc, aiohttp.ClientConnectorError)
                else ""
            )
            return Attempt(RETRY, "connection", f"connection{where}: {type(exc).__name__}")
        verdict, reason = judge(self.hook.format, reply)
        detail = f"{reason} {reply.body[:200]!r}" if reply.body else reason
        return Attempt(verdict, reason, detail, reply.retry_after_s)

    def _delay(self, retry: int, retry_after_s: float | None) -> float:
        """Our backoff, or longer when the webhook asked for it (Retry-After), within cap."""
        hook = self.hook
        delay = backoff_s(retry, hook.backoff_s, hook.backoff_max_s, self._world.random())
        if retry_after_s is not None:
            delay = max(delay, min(retry_after_s, hook.backoff_max_s))
        return delay

    def _url(self) -> str:
        url = self.hook.url.get_secret_value()
        if self.hook.secret is None:
            return url
        return dingtalk_signed_url(url, self.hook.secret.get_secret_value(), self._world.wall_ms())

    async def _pace(self) -> None:
        wait = self._last_post + self.hook.min_interval_s - self._world.monotonic()
        if wait > 0:
            await self._world.sleep(wait)

    def _give_up(self, item: Outgoing, reason: str, detail: str) -> bool:
        self._failed(reason)
        log.warning(
            "%s: event %s not delivered: %s (%s)", self.hook.name, item.event_id, reason, detail
        )
        return False

    def _failed(self, reason: str) -> None:
        self._metrics.failed.labels(self.hook.name, reason).inc()

    def _observe_depth(self) -> None:
        self._metrics.queue_depth.labels(self.hook.name).set(self.queue.qsize())


# -- every webhook -----------------------------------------------------------------------
@dataclass
class Notifier:
    """Routes each alert event to the senders of the webhooks that take it."""

    config: NotifyConfig
    senders: Mapping[str, WebhookSender]
    metrics: NotifierMetrics
    remember: int = 10_000  # event ids kept to drop re-deliveries after a rebalance
    _recent: OrderedDict[str, None] = field(default_factory=OrderedDict)

    def dispatch(self, raw: bytes | None, origin: str = "") -> int:
        """Queue one message's event for its webhooks; returns how many take it."""
        try:
            record = parse_record(raw)
        except RecordError as exc:
            self.metrics.events.labels("invalid").inc()
            log.warning("ignored message %s on the alerts topic: %s", origin, exc)
            return 0
        if self._seen(str(record["event_id"])):
            self.metrics.events.labels("duplicate").inc()
            return 0
        hooks = route(self.config, record)
        for hook in hooks:
            self.senders[hook.name].offer(record)
        self.metrics.events.labels("routed" if hooks else "unrouted").inc()
        return len(hooks)

    def _seen(self, event_id: str) -> bool:
        if event_id in self._recent:
            return True
        self._recent[event_id] = None
        if len(self._recent) > self.remember:
            self._recent.popitem(last=False)
        return False


async def consume(consumer: Any, notifier: Notifier, stop: asyncio.Event) -> None:
    """Dispatch batches from ``consumer`` and commit each, until ``stop`` is set."""
    while not stop.is_set():
        batches = await consumer.getmany(timeout_ms=500, max_records=500)
        for messages in batches.values():
            for message in messages:
                origin = f"{message.topic}/{message.partition}/{message.offset}"
                notifier.dispatch(message.value, origin)
        if batches:
            try:
                await consumer.commit()
            except Exception as exc:  # a rebalance: the batch may come again, ids dedupe it
                log.warning("offset commit failed: %s", exc)


async def drain(senders: Mapping[str, WebhookSender], seconds: float) -> None:
    """Give queued messages up to ``seconds`` to go out."""
    joins = [s.queue.join() for s in senders.values()]
    try:
        await asyncio.wait_for(asyncio.gather(*joins), seconds)
    except TimeoutError:
        left = {name: s.queue.qsize() for name, s in senders.items() if s.queue.qsize()}
        log.warning("stopping with messages not delivered (queued: %s)", left)


async def run(
    settings: NotifierSettings,
    config: NotifyConfig,
    metrics: NotifierMetrics,
    stop: asyncio.Event,
    world: World | None = None,
) -> None:
    """Consume the alerts topic and feed the webhooks until ``stop`` is set."""
    from aiokafka import AIOKafkaConsumer

    world = world or World()
    async with aiohttp.ClientSession() as session:
        post = aiohttp_post(session)
        senders = {h.name: WebhookSender(h, post, metrics, world) for h in config.webhooks}
        tasks = [asyncio.create_task(s.run(), name=f"notify-{n}") for n, s in senders.items()]
        consumer = AIOKafkaConsumer(
            alerts_topic(settings.kafka_topic_prefix),
            bootstrap_servers=settings.kafka_bootstrap,
            group_id=settings.notifier_group_id,
            enable_auto_commit=False,
            auto_offset_reset=settings.notifier_offset_reset,
        )
        await consumer.start()
        try:
            await consume(consumer, Notifier(config, senders, metrics), stop)
        finally:
            await consumer.stop()
            await drain(senders, settings.notifier_drain_s)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


# -- entry point -------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="citybrain-notifier",
        description="Send alert events to webhooks (settings: CITYBRAIN_* environment "
        "variables; webhooks: the YAML file CITYBRAIN_NOTIFY_CONFIG, see README).",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--config", help="webhook YAML file (overrides CITYBRAIN_NOTIFY_CONFIG)")
    parser.add_argument("--check", action="store_true", help="check the config and exit")
    return parser.parse_args(argv)


def read_config(path: Path, environ: Mapping[str, str]) -> NotifyConfig:
    """The webhook config; none when the file is missing (said in the log)."""
    if not path.exists():
        log.warning("no webhooks: %s does not exist, alert events are read and dropped", path)
        return NotifyConfig()
    return load_config(path, environ)


def describe_config(config: NotifyConfig) -> list[str]:
    """One line per webhook, without its URL or secret."""
    return [
        f"{h.name}: {h.format}, tiers {','.join(h.tiers)}, level {h.min_level.roman} and up"
        + (f", districts {','.join(h.districts)}" if h.districts else "")
        + (f", departments {','.join(h.departments)}" if h.departments else "")
        + (", signed" if h.secret else "")
        for h in config.webhooks
    ]


async def _serve(settings: NotifierSettings, config: NotifyConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await run(settings, config, NotifierMetrics.create(), stop)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {} if args.config is None else {"notify_config": args.config}
    try:
        settings = load(NotifierSettings, **overrides)
    except SettingsError as exc:
        print(f"citybrain-notifier: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=args.loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("kafka").setLevel(logging.WARNING)  # the admin client's chatter
    try:
        config = read_config(Path(settings.notify_config), os.environ)
    except ConfigError as exc:
        print(f"citybrain-notifier: bad notify config: {exc}", file=sys.stderr)
        return 2
    if args.check:
        print(f"{settings.notify_config}: {len(config.webhooks)} webhook(s)")
        for line in describe_config(config):
            print(line)
        return 0
    for line in describe_config(config):
        log.info("webhook %s", line)
    from infra.kafka import ensure_topics

    try:
        ensure_topics(settings, [alerts_topic(settings.kafka_topic_prefix)])
    except Exception as exc:
        print(f"citybrain-notifier: Kafka at {settings.kafka_bootstrap} is not usable: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    if settings.notifier_metrics_port:
        from prometheus_client import start_http_server

        start_http_server(settings.notifier_metrics_port, addr=settings.metrics_addr)
    asyncio.run(_serve(settings, config))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
