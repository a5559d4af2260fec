"""Case actions on the real broker and server: a dispatch ... close sequence sent by the
dashboard's own sender is applied in order by the real worker and stored as case steps
with who did what; an action the case's status does not allow is dead-lettered with the
reason; the case page reads the case where the actions left it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope
from dashboard.sender import KafkaActionSender
from detectors.contract.actions import Actor, build_case_action
from detectors.contract.tables import CASES_RAW
from infra.clickhouse import connect
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from tests.integration.harness import rows, wait_for, worker_process
from tests.integration.test_alerting import name_the_places

pytestmark = pytest.mark.integration
OPERATOR = Actor("li", "district_operator", "D2")


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def file_case(settings: CommonSettings, case_id: str, ts_ms: int) -> None:
    """A filed case as the ingest stage stores it (filing is tested with the pipeline)."""
    client = connect(settings)
    try:
        client.execute(CASES_RAW.insert_sql(), [(
            str(uuid.uuid4()), ts_ms // 1000, ts_ms, case_id, "garbage", "filed", "HOTLINE",
            "CB", "D2", "D2-S1", "D2-S1-G03", 120.1, 30.2, "垃圾堆放未及时清运", "", ts_ms // 1000,
            ts_ms,
        )])  # fmt: skip
    finally:
        client.disconnect()


def test_a_case_moved_from_dispatch_to_close_is_stored_step_by_step(
    namespace: CommonSettings,
) -> None:
    case_id = f"CS-it-{uuid.uuid4().hex[:8]}"
    now = int(time.time() * 1000)
    file_case(namespace, case_id, now - 60_000)
    plan: list[tuple[str, dict[str, Any]]] = [
        ("dispatch", {"department": "sanitation"}),
        ("close", {}),  # before verification: refused by the worker
        ("accept", {}),
        ("handle", {"comment": "已清运"}),
        ("send_back", {"comment": "仍有残留"}),
        ("handle", {}),
        ("verify", {}),
        ("close", {}),
        ("evaluate", {"score": 4}),
    ]
    worker = worker_process(namespace, "cases")
    worker.start()
    try:
        sender = KafkaActionSender(namespace)  # the dashboard's own sender
        for i, (action, fields) in enumerate(plan):
            sender.send(build_case_action(action, case_id, OPERATOR, now_ms=now + i,
                                          action_id=str(uuid.uuid4()), **fields))  # fmt: skip
        sender.close()
        steps_sql = (
            "SELECT action, previous, status, department, score, actor, role, comment "
            f"FROM case_steps FINAL WHERE case_id = '{case_id}' ORDER BY ts_ms"
        )
        wait_for(lambda: len(rows(namespace, steps_sql)) == 8, 120, "the case's 8 steps", worker)
        assert rows(namespace, steps_sql) == [
            ("dispatch", "filed", "dispatched", "sanitation", 0, "li", "district_operator", ""),
            ("accept", "dispatched", "accepted", "", 0, "li", "district_operator", ""),
            ("handle", "accepted", "handled", "", 0, "li", "district_operator", "已清运"),
            ("send_back", "handled", "sent_back", "", 0, "li", "district_operator", "仍有残留"),
            ("handle", "sent_back", "handled", "", 0, "li", "district_operator", ""),
            ("verify", "handled", "verified", "", 0, "li", "district_operator", ""),
            ("close", "verified", "closed", "", 0, "li", "district_operator", ""),
            ("evaluate", "closed", "evaluated", "", 4, "li", "district_operator", ""),
        ]
        dead_sql = "SELECT family, reason, detail FROM dead_letters FINAL"
        wait_for(lambda: bool(rows(namespace, dead_sql)), 60, "the refused close", worker)
        [(family, reason, detail)] = rows(namespace, dead_sql)
        assert (family, reason) == ("case_action", "case_state")
        assert "cannot close a case that is dispatched" in detail
        # the case page reads the lifecycle from cases_raw, where each step is a case event
        queries, scope = (
            ClickHouseQueries(lambda: connect(namespace)),
            Scope(Role.DISTRICT_OPERATOR, "D2", "li"),
        )
        case = queries.case(scope, case_id)
        assert case is not None and case.last_status == "evaluated"
        assert list(case.steps) == ["filed", "dispatched", "accepted", "sent_back", "handled",
                                    "verified", "closed", "evaluated"]  # fmt: skip
        trail = queries.case_trail(scope, case_id)
        assert [(s.action, s.actor, s.comment) for s in trail][3] == ("send_back", "li", "仍有残留")
        assert trail[-1].score == 4 and len(trail) == 8
        assert queries.case_trail(Scope(Role.DISTRICT_OPERATOR, "D1", "wu"), case_id) == []
        # the case list knows the department it was dispatched to (case_steps)
        name_the_places(namespace)
        listed = queries.area_cases(scope, "district", "D2", open_only=False).cases
        [mine] = [c for c in listed if c.case_id == case_id]
        assert (mine.dispatched, mine.department) == ("sanitation", "sanitation")
    finally:
        worker.stop()
