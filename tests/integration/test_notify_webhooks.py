"""The notifier process on the real broker, posting to a real HTTP server in the test.

Alert event records go to the alerts topic with kafka-python; ``python -m streams.notifier``
must deliver exactly the notifiable ones to exactly the webhooks that take them, in each
webhook's format, retry the endpoint that fails twice, and keep delivering to the others
while one endpoint never answers.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from kafka import KafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from infra.kafka import ensure_topics
from infra.process import ChildProcess, free_port
from infra.settings import CommonSettings
from infra.topics import alerts_topic
from streams.notify_format import dingtalk_body, generic_body, wecom_body
from tests.integration.harness import ROOT, process_env, wait_for
from tests.unit.test_notify_format import alert_record, incident_record

pytestmark = pytest.mark.integration

DING_SECRET = "SECtest-signing-secret"


# -- a webhook receiver ------------------------------------------------------------------
@dataclass(frozen=True)
class Seen:
    endpoint: str
    query: dict[str, str]
    body: Any


class Receiver:
    """An aiohttp server on 127.0.0.1 in a thread of its own, recording every POST.

    /flaky answers 500 to its first two requests; /hang never answers; /ding checks
    DingTalk's signature like the real robot (errcode 310000 when it does not match);
    /ding and /wecom answer with errcode 0, as the robots do.
    """

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None
        self._release: asyncio.Event | None = None

    def start(self) -> str:
        self._thread.start()
        port = asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    def requests(self, endpoint: str) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.endpoint == endpoint]

    async def _start(self) -> int:
        self._release = asyncio.Event()
        app = web.Application()
        app.router.add_post("/{endpoint}", self._handle)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def _stop(self) -> None:
        assert self._release is not None and self._runner is not None
        self._release.set()
        await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        endpoint = request.match_info["endpoint"]
        seen = Seen(endpoint, dict(request.query), await request.json())
        with self._lock:
            self.seen.append(seen)
            count = len([s for s in self.seen if s.endpoint == endpoint])
        if endpoint == "hang":
            assert self._release is not None
            await self._release.wait()
        if endpoint == "flaky" and count <= 2:
            return web.json_response({"error": "try again"}, status=500)
        if endpoint == "ding" and not _signed(seen.query):
            return web.json_response({"errcode": 310000, "errmsg": "sign not match"})
        if endpoint in ("ding", "wecom"):
            return web.json_response({"errcode": 0, "errmsg": "ok"})
        return web.json_response({"ok": True})


def _signed(query: dict[str, str]) -> bool:
    timestamp = query.get("timestamp", "")
    digest = hmac.new(DING_SECRET.encode(), f"{timestamp}\n{DING_SECRET}".encode(), hashlib.sha256)
    # aiohttp has already URL-decoded the query: compare with the plain base64
    return hmac.compare_digest(query.get("sign", ""), base64.b64encode(digest.digest()).decode())


# -- the notifier process ----------------------------------------------------------------
class NotifierProcess(ChildProcess):
    """``python -m streams.notifier`` with its log kept for failure messages."""

    def __init__(self, settings: CommonSettings, config: Path, name: str) -> None:
        self.metrics_port = free_port()
        env = process_env(
            settings,
            CITYBRAIN_NOTIFY_CONFIG=str(config),
            CITYBRAIN_NOTIFIER_GROUP_ID=f"{settings.kafka_topic_prefix}-notifier",
            CITYBRAIN_NOTIFIER_OFFSET_RESET="earliest",
            CITYBRAIN_NOTIFIER_METRICS_PORT=str(self.metrics_port),
            CITYBRAIN_NOTIFIER_DRAIN_S="1",
        )
        log_path = ROOT / ".local" / "test-logs" / f"{settings.kafka_topic_prefix}-{name}.log"
        super().__init__("streams.notifier", ("--loglevel", "info"), env=env,
                         log_path=log_path, cwd=ROOT, name="notifier")  # fmt: skip

    def metric(self, name: str, **labels: str) -> float:
        """A sample from the process's /metrics (0 when absent or not up yet)."""
        try:
            url = f"http://127.0.0.1:{self.metrics_port}/metrics"
            text = urllib.request.urlopen(url, timeout=5).read().decode()
        except OSError:
            return 0.0
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == name and all(
                    sample.labels.get(k) == v for k, v in labels.items()
                ):
                    return float(sample.value)
        return 0.0


# -- fixtures ----------------------------------------------------------------------------
@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated, [alerts_topic(isolated.kafka_topic_prefix)])
    yield isolated


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    server = Receiver()
    base = server.start()
    yield server, base
    server.stop()


def write_config(path: Path, base: str, *hooks: dict[str, Any]) -> Path:
    for hook in hooks:
        hook["url"] = f"{base}/{hook.pop('endpoint')}" + hook.pop("query", "")
    path.write_text(yaml.safe_dump({"webhooks": list(hooks)}))
    return path


def produce(settings: CommonSettings, values: list[bytes]) -> None:
    """Send in order to one partition (one key), as the worker sends one district's events."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all")
    try:
        topic = alerts_topic(settings.kafka_topic_prefix)
        for value in values:
            producer.send(topic, key=b"D1", value=value)
        producer.flush(timeout=30)
    finally:
        producer.close()


def encoded(record: dict[str, Any]) -> bytes:
    return json.dumps(record, ensure_ascii=False).encode()


# -- tests -------------------------------------------------------------------------------
def test_each_webhook_gets_exactly_its_events_in_its_format(
    namespace: CommonSettings, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    server, base = receiver
    config = write_config(
        tmp_path / "notify.yaml", base,
        {"name": "all", "endpoint": "generic"},
        {"name": "city-ding", "endpoint": "ding", "query": "?access_token=tok",
         "format": "dingtalk", "secret": DING_SECRET, "tiers": ["district", "city"],
         "min_level": "II"},
        {"name": "d2-wecom", "endpoint": "wecom", "format": "wecom", "districts": ["D2"],
         "min_level": "III"},
        {"name": "flaky", "endpoint": "flaky", "backoff_s": 0.2},
        {"name": "hang", "endpoint": "hang", "timeout_s": 120, "max_attempts": 1},
    )  # fmt: skip
    street_iii = alert_record(event_id="e-1", level="III", tier="street")
    d2_names = {"D2": ["West Lake", "西湖区"], "D2-S1-G04": ["Lingyin grid 04", "灵隐街道第04网格"]}
    district_ii = alert_record(event_id="e-2", alert_id="a-2", district="D2", street="D2-S1",
                               grid="D2-S1-G04", level="II", tier="district",
                               places=d2_names)  # fmt: skip
    city_i = incident_record(event_id="e-6", scope="city", tier="city", level="I")
    produce(namespace, [
        encoded(street_iii),
        encoded(district_ii),
        encoded(alert_record(event_id="e-3", kind="grouped", notify=False)),
        encoded(alert_record(event_id="e-4", level="I", notify=False)),  # inhibited child
        encoded(alert_record(event_id="e-5", kind="cleared")),  # not a notifiable kind
        b"{not an alert",
        encoded(district_ii),  # delivered twice by Kafka
        encoded(city_i),
    ])  # fmt: skip

    notifier = NotifierProcess(namespace, config, "notifier")
    notifier.start()
    try:
        expected = {"generic": 3, "ding": 2, "wecom": 2, "flaky": 5, "hang": 1}
        wait_for(
            lambda: (
                {e: len(server.requests(e)) for e in expected} == expected
                and notifier.metric("citybrain_notify_events_total", result="unrouted") == 3
            ),
            timeout=90,
            what="every webhook's requests",
            watch=lambda: f"{[(s.endpoint, s.query) for s in server.seen]}\n{notifier.log_tail()}",
        )
        for result, count in {"routed": 3, "unrouted": 3, "duplicate": 1, "invalid": 1}.items():
            assert notifier.metric("citybrain_notify_events_total", result=result) == count

        def bodies(endpoint: str) -> list[Any]:
            return [s.body for s in server.requests(endpoint)]

        assert bodies("generic") == [generic_body(r) for r in (street_iii, district_ii, city_i)]
        assert bodies("ding") == [dingtalk_body(r) for r in (district_ii, city_i)]
        title = "[II 橙色预警] 新预警 西湖区灵隐街道第04网格空气污染"
        assert bodies("ding")[0]["markdown"]["title"] == title
        assert all(s.query["access_token"] == "tok" for s in server.requests("ding"))
        assert bodies("wecom") == [wecom_body(r) for r in (district_ii, city_i)]
        assert bodies("wecom")[0]["markdown"]["content"].startswith(
            '### <font color="warning">II 橙色 重大 / orange major</font> 新预警 alert raised'
        )
        # the flaky endpoint: 500, 500, then accepted; the others after it, once each
        flaky_ids = [b["event"]["event_id"] for b in bodies("flaky")]
        assert flaky_ids == ["e-1", "e-1", "e-1", "e-2", "e-6"]
        assert notifier.metric("citybrain_notify_retries_total", webhook="flaky") == 2
        assert notifier.metric("citybrain_notify_sent_total", webhook="flaky") == 3
        # the hanging endpoint still holds its first request; nobody else waited for it
        assert [b["event"]["event_id"] for b in bodies("hang")] == ["e-1"]
        assert notifier.metric("citybrain_notify_sent_total", webhook="all") == 3
        assert notifier.metric("citybrain_notify_queue_depth", webhook="hang") == 2
        assert notifier.metric("citybrain_notify_failed_total", webhook="city-ding",
                               reason="errcode") == 0  # fmt: skip
    finally:
        code = notifier.stop()
    assert code == 0, notifier.log_tail()


def test_a_restarted_notifier_resumes_after_what_it_committed(
    namespace: CommonSettings, receiver: tuple[Receiver, str], tmp_path: Path
) -> None:
    server, base = receiver
    config = write_config(tmp_path / "notify.yaml", base, {"name": "all", "endpoint": "generic"})
    first, second = alert_record(event_id="e-1"), alert_record(event_id="e-2", level="I")

    def ids() -> list[str]:
        return [s.body["event"]["event_id"] for s in server.requests("generic")]

    notifier = NotifierProcess(namespace, config, "notifier-1")
    notifier.start()
    try:
        produce(namespace, [encoded(first)])
        wait_for(lambda: ids() == ["e-1"], 60, "the first event", notifier.log_tail)
    finally:
        assert notifier.stop() == 0, notifier.log_tail()

    produce(namespace, [encoded(second)])
    again = NotifierProcess(namespace, config, "notifier-2")
    again.start()
    try:
        wait_for(lambda: len(ids()) >= 2, 60, "the second event", again.log_tail)
        assert ids() == ["e-1", "e-2"]  # the committed one is not sent again
    finally:
        assert again.stop() == 0, again.log_tail()
