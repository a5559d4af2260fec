"""The alerting agent on the real broker and server: decisions raise alerts; operator
actions from the dashboard's topic are applied and written once (one write path); refused
actions are dead-lettered with their reason and change nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer

from detectors.alerting.types import Decision
from detectors.contract.actions import Actor, build_action
from detectors.contract.events import Location
from infra.clickhouse import connect
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import alert_actions_topic, alerting_topic, alerts_topic
from streams.alerting import decision_to_json
from streams.notify_format import summary
from tests.integration.harness import ROOT, WorkerProcess, process_env, rows, wait_for

pytestmark = pytest.mark.integration
WHERE = Location("CB", "D2", "D2-S1", "D2-S1-G03")


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def send(settings: CommonSettings, topic: str, values: list[bytes]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for value in values:
        producer.send(topic, key=b"city", value=value)
    producer.flush()
    producer.close()


def decision(ts_ms: int, score: float) -> bytes:
    return decision_to_json(Decision(
        "WAT-0007:water_level:condition", "condition", "WAT-0007", "water_level", WHERE,
        "static", score, 4.6, ts_ms, threshold=4.0,
    ))  # fmt: skip


def action(kind: str, alert_id: str, role: str = "city_commander", **extra: Any) -> bytes:
    actor = Actor("li", role, "D1" if role == "district_operator" else "")
    message = build_action(kind, alert_id, actor, now_ms=int(time.time() * 1000),
                           action_id=str(uuid.uuid4()), **extra)  # fmt: skip
    return orjson.dumps(message)


def current(settings: CommonSettings, alert_id: str) -> tuple[Any, ...] | None:
    found = rows(settings, "SELECT status, acknowledged_by, assignee, level FROM alerts_current "
                           f"FINAL WHERE alert_id = '{alert_id}'")  # fmt: skip
    return found[0] if found else None


def name_the_places(settings: CommonSettings) -> None:
    """The city model's names of WHERE's areas, as the simulator writes them."""
    areas = [
        ("district", "D2", "CB", "D2", "", "West Lake", "西湖区"),
        ("street", "D2-S1", "D2", "D2", "D2-S1", "Lingyin", "灵隐街道"),
        ("grid", "D2-S1-G03", "D2-S1", "D2", "D2-S1", "Lingyin grid 03", "灵隐街道第03网格"),
    ]
    client = connect(settings)
    try:
        client.execute(
            "INSERT INTO areas (level, code, parent, city, district, street, name, "
            "name_zh, ring, lon, lat, updated_at) VALUES",
            [(*a[:3], "CB", *a[3:], "[]", 0.0, 0.0, 0) for a in areas],
        )
    finally:
        client.disconnect()


def raised_notice(settings: CommonSettings) -> dict[str, Any] | None:
    """The 'raised' record on the alerts topic, as the notifier reads it."""
    consumer = KafkaConsumer(
        alerts_topic(settings.kafka_topic_prefix),
        group_id=None,
        bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest",
        consumer_timeout_ms=3000,
    )
    try:
        found = [orjson.loads(m.value) for m in consumer]
    finally:
        consumer.close()
    return next((r for r in found if r.get("kind") == "raised"), None)


def test_decisions_raise_and_actions_are_applied_once(namespace: CommonSettings) -> None:
    name_the_places(namespace)
    worker = WorkerProcess(
        process_env(namespace),
        ROOT / ".local" / "test-logs" / f"{namespace.kafka_topic_prefix}.log",
    )
    worker.start()
    prefix = namespace.kafka_topic_prefix
    try:
        now = int(time.time() * 1000)
        send(namespace, alerting_topic(prefix), [decision(now - 60_000 + i * 1000, 0.8)
                                                 for i in range(3)])  # fmt: skip
        raised = "SELECT alert_id FROM alert_events FINAL WHERE kind = 'raised'"
        wait_for(lambda: bool(rows(namespace, raised)), 120, "the alert to be raised", worker)
        alert_id = rows(namespace, raised)[0][0]
        # alerts_current is written after alert_events, in the same batch: wait for it too
        wait_for(lambda: current(namespace, alert_id) is not None, 60, "its state", worker)
        assert current(namespace, alert_id)[0] == "active"  # type: ignore[index]
        # each row says when the worker made it: after the decision was sent, before now
        made = rows(namespace, "SELECT min(created_ms), max(created_ms) FROM alert_events")
        made += rows(namespace, "SELECT min(created_ms), max(created_ms) FROM alerts_current")
        assert all(now <= first <= last <= time.time() * 1000 for first, last in made), made
        # the notice names its places, so the notifier explains it by name in both languages
        wait_for(lambda: raised_notice(namespace) is not None, 60, "the raised notice", worker)
        notice = raised_notice(namespace)
        assert notice is not None and notice["places"]["D2"] == ["West Lake", "西湖区"]
        assert notice["opened"] == notice["ts"]
        line = summary(notice)
        assert "Flood risk at Lingyin grid 03, West Lake district: water level 4.6 m" in line
        assert "西湖区灵隐街道第03网格内涝风险" in line and "D2-S1-G03" not in line

        send(namespace, alert_actions_topic(prefix), [
            action("acknowledge", alert_id, comment="on my way"),
            action("assign", alert_id, assignee="team-7"),
            action("comment", alert_id, role="district_operator", comment="not ours"),
            action("acknowledge", "no-such-alert"),
        ])  # fmt: skip
        wait_for(lambda: current(namespace, alert_id)[2] == "team-7", 60,
                 "the assignment to be written", worker)  # fmt: skip
        assert current(namespace, alert_id)[:2] == ("acknowledged", "li")
        trail = [k for (k,) in rows(namespace, "SELECT kind FROM alert_events FINAL WHERE "
                                    f"alert_id = '{alert_id}' ORDER BY ts_ms, kind")]  # fmt: skip
        assert {"raised", "acknowledged", "assigned"} <= set(trail)
        wait_for(lambda: len(rows(namespace, "SELECT reason FROM dead_letters FINAL")) == 2, 60,
                 "the two refused actions to be dead-lettered", worker)  # fmt: skip
        reasons = sorted(r for (r,) in rows(namespace, "SELECT reason FROM dead_letters FINAL"))
        assert reasons == ["not_permitted", "unknown_alert"]

        send(namespace, alert_actions_topic(prefix), [action("resolve", alert_id)])
        wait_for(lambda: current(namespace, alert_id)[0] == "resolved", 60, "the resolution",
                 worker)  # fmt: skip
        send(namespace, alert_actions_topic(prefix), [action("comment", alert_id, comment="x")])
        wait_for(lambda: any(r == "alert_ended" for (r,) in rows(
            namespace, "SELECT reason FROM dead_letters FINAL")), 60,
            "an action on the resolved alert to be refused", worker)  # fmt: skip
        kinds = [k for (k,) in rows(namespace, "SELECT kind FROM alert_events FINAL WHERE "
                                    f"alert_id = '{alert_id}'")]  # fmt: skip
        assert "commented" not in kinds  # the refused comment wrote nothing
    finally:
        worker.stop()
