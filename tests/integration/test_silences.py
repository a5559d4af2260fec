"""A silence on the real broker and server: the dashboard's create_silence action, applied
by the real worker, mutes a matching alert (stored, marked, never notified) while an
alert outside it notifies as usual."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaConsumer

from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope
from dashboard.sender import KafkaActionSender
from detectors.alerting.types import Decision
from detectors.contract.actions import Actor, build_silence_action
from detectors.contract.events import Location
from detectors.contract.silences import Silence
from infra.clickhouse import connect
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import alerting_topic, alerts_topic
from streams.alerting import decision_to_json
from streams.notify_config import NotifyConfig, WebhookConfig, route
from tests.integration.harness import rows, wait_for, worker_process
from tests.integration.test_alerting import send

pytestmark = pytest.mark.integration
MUTED = Location("CB", "D2", "D2-S1", "D2-S1-G03")
HEARD = Location("CB", "D3", "D3-S1", "D3-S1-G01")
EVERY_ALERT = NotifyConfig(webhooks=(WebhookConfig(name="all", url="http://127.0.0.1:9/x"),))


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def decision(source: str, where: Location, ts_ms: int) -> bytes:
    return decision_to_json(Decision(
        f"{source}:water_level:condition", "condition", source, "water_level", where,
        "static", 0.8, 4.6, ts_ms, threshold=4.0,
    ))  # fmt: skip


def published(settings: CommonSettings) -> list[dict[str, Any]]:
    """The alert event records the worker published (what the notifier reads)."""
    consumer = KafkaConsumer(alerts_topic(settings.kafka_topic_prefix),
                             bootstrap_servers=settings.kafka_bootstrap,
                             auto_offset_reset="earliest", consumer_timeout_ms=5000)  # fmt: skip
    try:
        records = [orjson.loads(m.value) for m in consumer]
    finally:
        consumer.close()
    return records


def test_a_silence_applied_by_the_worker_mutes_a_matching_alert(
    namespace: CommonSettings,
) -> None:
    worker = worker_process(namespace, "silences")
    worker.start()
    prefix = namespace.kafka_topic_prefix
    try:
        now = int(time.time() * 1000)
        window = Silence("", "street", "D2-S1", now - 3_600_000, now + 3_600_000,
                         reason="pump station maintenance")  # fmt: skip
        silence_id = str(uuid.uuid4())
        message = build_silence_action(
            "create_silence", silence_id, Actor("li", "district_operator", "D2"),
            now_ms=now, action_id=str(uuid.uuid4()), window=window,
        )  # fmt: skip
        sender = KafkaActionSender(namespace)
        sender.send(message)  # the dashboard's own sender
        sender.close()
        stored = (
            f"SELECT status, author, district FROM silences FINAL WHERE silence_id = '{silence_id}'"
        )
        wait_for(lambda: bool(rows(namespace, stored)), 120, "the silence to be stored", worker)
        assert rows(namespace, stored) == [("active", "li", "D2")]
        # the silences page reads it back in the viewer's scope
        queries = ClickHouseQueries(lambda: connect(namespace))
        [listed] = queries.silences(Scope(Role.DISTRICT_OPERATOR, "D2", "li"))
        assert (listed.silence_id, listed.state(now), listed.value) == (
            silence_id,
            "active",
            "D2-S1",
        )
        assert queries.silences(Scope(Role.DISTRICT_OPERATOR, "D1", "wu")) == []

        send(namespace, alerting_topic(prefix), [
            decision("WAT-0007", MUTED, now), decision("WAT-0031", HEARD, now),
        ])  # fmt: skip
        raised = (
            "SELECT grid, alert_id, notify, evidence FROM alert_events FINAL WHERE kind = 'raised'"
        )
        wait_for(lambda: len(rows(namespace, raised)) == 2, 120, "both alerts raised", worker)
        by_grid = {grid: rest for grid, *rest in rows(namespace, raised)}
        muted_id, notify, evidence = by_grid[MUTED.grid]
        assert notify == 0 and orjson.loads(evidence)["silence_id"] == silence_id
        trail = rows(namespace, f"SELECT kind, notify, incident_id FROM alert_events FINAL "
                                f"WHERE alert_id = '{muted_id}'")  # fmt: skip
        assert trail == [("raised", 0, "")]  # recorded; no incident, nothing to notify
        # alerts_current is written after alert_events, in the same batch: wait for it too
        latest_state = (
            f"SELECT status, evidence FROM alerts_current FINAL WHERE alert_id = '{muted_id}'"
        )
        wait_for(lambda: bool(rows(namespace, latest_state)), 60, "the alert's state", worker)
        [(status, current_evidence)] = rows(namespace, latest_state)
        assert status == "active" and silence_id in current_evidence

        records: list[dict[str, Any]] = []

        def both_published() -> bool:
            records[:] = published(namespace)
            return {r["grid"] for r in records if r["kind"] == "raised"} >= {MUTED.grid, HEARD.grid}

        wait_for(both_published, 60, "the alert events on the alerts topic", worker)
        routed = {(r["grid"], r["kind"]): bool(route(EVERY_ALERT, r)) for r in records}
        assert routed[(MUTED.grid, "raised")] is False
        assert not any(sent for (grid, _), sent in routed.items() if grid == MUTED.grid)
        assert routed[(HEARD.grid, "incident_opened")] is True  # the other one pages people

        # Expired, the silence lets go: the alert still active now opens a notified incident.
        expire = build_silence_action(
            "expire_silence", silence_id, Actor("li", "district_operator", "D2"),
            now_ms=int(time.time() * 1000), action_id=str(uuid.uuid4()),
        )  # fmt: skip
        sender = KafkaActionSender(namespace)
        sender.send(expire)
        sender.close()
        opened = ("SELECT notify FROM alert_events FINAL WHERE kind = 'incident_opened' "
                  f"AND grid = '{MUTED.grid}'")  # fmt: skip
        wait_for(lambda: bool(rows(namespace, opened)), 60, "the unmuted alert's incident", worker)
        assert rows(namespace, opened) == [(1,)]
        kinds = {k for (k,) in rows(namespace, "SELECT kind FROM alert_events FINAL "
                                               f"WHERE alert_id = '{muted_id}'")}  # fmt: skip
        assert {"raised", "unsilenced", "grouped"} <= kinds
        latest = ("SELECT status, actor FROM silences FINAL "
                  f"WHERE silence_id = '{silence_id}' ORDER BY version DESC LIMIT 1")  # fmt: skip
        # the silence's row and the alert events are separate writes: wait for this one too
        expired = [("expired", "li")]
        wait_for(lambda: rows(namespace, latest) == expired, 60, "the expiry stored", worker)
        assert rows(namespace, latest) == expired
    finally:
        worker.stop()
