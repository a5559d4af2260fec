"""An overdue case on the real broker and server: a case filed on the case topic with its
dispatch already past its limit is raised by the real worker as an alert at the street
tier, escalated to the district as event time moves on (across a worker restart, without
being raised again), published for the notifier, and cleared when an operator dispatches
it through the dashboard's own sender."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope
from dashboard.sender import KafkaActionSender
from detectors.contract.actions import Actor, build_case_action
from detectors.contract.events import CaseReport, Family, Source
from detectors.contract.wire import encode_case, key_of
from infra.clickhouse import connect
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import all_family_topics
from sensors_sim.city import build_city
from sensors_sim.reference import write_reference
from streams.notify_config import NotifyConfig, WebhookConfig, route
from tests.integration.harness import rows, settled, wait_for, worker_process
from tests.integration.test_silences import published

pytestmark = pytest.mark.integration

MIN = 60_000
DISTRICT_DESK = NotifyConfig(
    webhooks=(WebhookConfig(name="district", url="http://127.0.0.1:9/x", tiers=("district",)),)
)


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def _reporter(settings: CommonSettings) -> Source:
    city = build_city(seed=8)
    write_reference(settings, city)
    return next(s for s in city.sources if s.family is Family.CASE)


def _file(settings: CommonSettings, reporter: Source, case_id: str, ts_ms: int) -> None:
    """A new garbage case on the case topic, as the simulator files one."""
    case = CaseReport(str(uuid.uuid4()), ts_ms, case_id, "garbage", "filed",
                      reporter.source_id, reporter.location, reporter.lon, reporter.lat,
                      "垃圾堆放未及时清运", "")  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    topic = all_family_topics(settings.kafka_topic_prefix)[Family.CASE]
    producer.send(topic, key=key_of(case), value=encode_case(case))
    producer.flush()
    producer.close()


def _trail(settings: CommonSettings, case_id: str) -> list[tuple[Any, ...]]:
    return rows(settings, "SELECT kind, ts_ms, tier, level, notify, reason, actor "
                          "FROM alert_events FINAL "
                          f"WHERE category = 'case' AND key LIKE '{case_id}:%' "
                          "ORDER BY ts_ms, kind")  # fmt: skip


def test_an_overdue_case_is_alerted_escalated_and_cleared_by_its_dispatch(
    namespace: CommonSettings,
) -> None:
    # taken now, not at import: in a full suite the test runs minutes after collection,
    # and the console explains lateness against the wall clock
    now_min_ms = int(time.time() * 1000) // MIN * MIN
    filed_ms = now_min_ms - 65 * MIN  # a garbage case: dispatch within 30 min of filing
    reporter = _reporter(namespace)
    late_case, tag = f"CS-late-{uuid.uuid4().hex[:8]}", uuid.uuid4().hex[:6]
    raised = ("raised", filed_ms + 31 * MIN, "street", "IV", 1,
              "case step dispatched overdue by 1 min", "")  # fmt: skip
    escalated = ("escalated", filed_ms + 61 * MIN, "district", "IV", 1,
                 "case step dispatched overdue by 31 min: to district", "")  # fmt: skip
    worker = worker_process(namespace, "overdue")
    worker.start()
    try:
        _file(namespace, reporter, late_case, filed_ms)
        # another case filed 45 min later moves event time on: ticks to minute 45
        _file(namespace, reporter, f"CS-clock1-{tag}", filed_ms + 45 * MIN + 1000)
        wait_for(lambda: bool(_trail(namespace, late_case)), 120, "the overdue alert", worker)
        settled(namespace, worker, 120)
        assert _trail(namespace, late_case) == [raised]
    finally:
        worker.stop()
    # a restart: the engine's snapshot still watches the case and knows it was alerted
    worker = worker_process(namespace, "overdue-again")
    worker.start()
    try:
        _file(namespace, reporter, f"CS-clock2-{tag}", now_min_ms + 1000)  # ticks to now
        wait_for(lambda: len(_trail(namespace, late_case)) >= 2, 120, "the escalation", worker)
        settled(namespace, worker, 120)
        assert _trail(namespace, late_case) == [raised, escalated]  # raised once, not twice
        [(alert_id, status, tier, source_id, metric, evidence)] = rows(
            namespace, "SELECT alert_id, status, tier, source_id, metric, evidence "
                       f"FROM alerts_current FINAL WHERE key = '{late_case}:dispatched:case'",
        )  # fmt: skip
        assert (status, tier, source_id, metric) == ("active", "district", late_case,
                                                     "case_overdue")  # fmt: skip
        assert orjson.loads(evidence) == {
            "source_id": late_case, "metric": "case_overdue", "case_category": "garbage",
            "step": "dispatched", "due_ms": filed_ms + 30 * MIN, "limit_min": 30,
            "late_min": 31, "department": "",
        }  # fmt: skip
        # published for the notifier: the district desk is told of the escalation
        records: list[dict[str, Any]] = []

        def both_published() -> bool:
            records[:] = [r for r in published(namespace) if r["alert_id"] == alert_id]
            return len(records) >= 2

        wait_for(both_published, 60, "the alert events on the alerts topic", worker)
        assert [(r["kind"], r["tier"], bool(route(DISTRICT_DESK, r))) for r in records] == [
            ("raised", "street", False), ("escalated", "district", True),
        ]  # fmt: skip
        assert records[1]["places"][reporter.location.district]  # named for the explanation
        # the console reads it and explains it in both languages
        queries = ClickHouseQueries(lambda: connect(namespace))
        scope = Scope(Role.DISTRICT_OPERATOR, reporter.location.district, "li")
        shown = queries.alert(scope, alert_id)
        assert shown is not None and shown.category == "case"
        assert "waiting to be dispatched, 31 min past its 30 min limit" in (
            shown.explanation("en").headline
        )
        assert "待派遣，超时31分钟（时限30分钟）" in shown.explanation("zh").headline

        dispatched_ms = int(time.time() * 1000)
        sender = KafkaActionSender(namespace)  # the dashboard's own sender
        sender.send(build_case_action(
            "dispatch", late_case, Actor("li", "district_operator", reporter.location.district),
            now_ms=dispatched_ms, action_id=str(uuid.uuid4()), department="sanitation",
        ))  # fmt: skip
        sender.close()
        wait_for(lambda: len(_trail(namespace, late_case)) == 3, 120, "the all-clear", worker)
        settled(namespace, worker, 120)  # the batch's other rows are written before its commit
        assert _trail(namespace, late_case) == [
            raised, escalated,
            ("cleared", dispatched_ms, "district", "IV", 1, "case step dispatched done", "li"),
        ]  # fmt: skip
        current = f"SELECT status FROM alerts_current FINAL WHERE alert_id = '{alert_id}'"
        assert rows(namespace, current) == [("cleared",)]
        step = f"SELECT status FROM case_steps FINAL WHERE case_id = '{late_case}'"
        assert rows(namespace, step) == [("dispatched",)]
    finally:
        worker.stop()
