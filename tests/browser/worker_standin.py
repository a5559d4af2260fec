"""A STAND-IN FOR THE WORKER, for tests only: it applies operator actions from the
alert-actions topic the way the real worker (streams/) will, so the browser test can see
an acknowledged alert after a reload without depending on the worker being wired yet.

For each action: a row in alert_events (kind = the action, actor, comment) and a new
alerts_current row with a higher version (status, acknowledged_by, assignee). A silence
action goes through the worker's own alerting stage and row builder into ``silences``
(the stand-in has no detectors, so it mutes no alert itself); a case action through the
worker's own case step and row builders into ``cases_raw`` and ``case_steps``. It is not
the product's write path and must never move out of tests/.
"""

from __future__ import annotations

import json
import threading
from typing import Any

from kafka import KafkaConsumer, TopicPartition

from detectors.contract.actions import SILENCE_ACTIONS, status_after, validate_action
from detectors.contract.cases import CASE_ACTIONS
from detectors.contract.tables import CASE_STEPS, CASES_RAW, SILENCES
from detectors.contract.validation import Invalid
from infra.clickhouse import connect
from infra.settings import CommonSettings
from infra.topics import alert_actions_topic
from streams.alert_rows import silence_rows
from streams.alerting import AlertingStage, StageOutput
from streams.case_steps import apply_case_action, case_states, cases_raw_rows, step_rows
from streams.sink import ClickHouseSink
from tests.browser.seed import ALERT_COLUMNS, EVENT_COLUMNS, insert


def apply_action(settings: CommonSettings, raw: bytes) -> dict[str, Any] | None:
    """Apply one action message; None when it is invalid or its alert is unknown."""
    try:
        action = validate_action(json.loads(raw))
    except ValueError:
        return None
    if action["action"] in SILENCE_ACTIONS or action["action"] in CASE_ACTIONS:
        return None  # the stand-in's own stage applies those (WorkerStandIn.run)
    client = connect(settings)
    try:
        found = client.execute(
            f"SELECT {ALERT_COLUMNS} FROM alerts_current FINAL WHERE alert_id = %(id)s",
            {"id": action["alert_id"]},
        )
    finally:
        client.disconnect()
    if not found:
        return None
    row = dict(zip([c.strip() for c in ALERT_COLUMNS.split(",")], found[0], strict=True))
    row["status"] = status_after(action["action"], row["status"])
    row["version"] += 1
    row["updated_ms"] = action["ts"]
    if action["action"] == "acknowledge":
        row["acknowledged_by"] = action["actor"]
    if action["action"] == "assign":
        row["assignee"] = action["assignee"]
    insert(settings, "alerts_current", ALERT_COLUMNS, [tuple(row.values())])
    event = (
        action["action_id"],
        action["ts"] // 1000,
        action["ts"],
        action["action"],
        row["alert_id"],
        row["incident_id"],
        row["key"],
        row["category"],
        row["level"],
        row["level_rank"],
        row["tier"],
        0,
        row["reason"],
        row["city"],
        row["district"],
        row["street"],
        row["grid"],
        row["scope"],
        row["evidence"],
        action["actor"],
        action["comment"],
    )
    insert(settings, "alert_events", EVENT_COLUMNS, [event])
    return action


class WorkerStandIn(threading.Thread):
    """Consumes the namespace's alert-actions topic and applies each action."""

    def __init__(self, settings: CommonSettings) -> None:
        super().__init__(name="worker-stand-in", daemon=True)
        self.settings = settings
        self.applied: list[dict[str, Any]] = []
        self.stage = AlertingStage()  # the worker's: silences and the silences rows
        self.stopping = threading.Event()
        self.ready = threading.Event()

    def run(self) -> None:
        # Partitions assigned by hand, no consumer group: a group formed while the new
        # topic is missing from the broker's first metadata can leave it to no one.
        topic = alert_actions_topic(self.settings.kafka_topic_prefix)
        consumer = KafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            consumer_timeout_ms=200,
        )
        try:
            partitions = None
            while not partitions and not self.stopping.wait(0.1):
                partitions = consumer.partitions_for_topic(topic)
            consumer.assign([TopicPartition(topic, p) for p in sorted(partitions or ())])
            self.ready.set()
            while not self.stopping.is_set():
                batch = consumer.poll(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        applied = (
                            apply_action(self.settings, record.value)
                            or self.silence(record.value)
                            or self.case(record.value)
                        )
                        if applied:
                            self.applied.append(applied)
        finally:
            consumer.close()

    def silence(self, raw: bytes) -> dict[str, Any] | None:
        """Apply a silence action as the worker does; None when it is none or refused."""
        try:
            action = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(action, dict) or action.get("action") not in SILENCE_ACTIONS:
            return None
        out = StageOutput()
        if self.stage.act(action, out) is not None:
            return None
        insert(self.settings, SILENCES.name, SILENCES.column_list, silence_rows(self.stage, out))
        return dict(action)

    def case(self, raw: bytes) -> dict[str, Any] | None:
        """Apply a case action as the worker does; None when it is none or refused."""
        try:
            action = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(action, dict) or action.get("action") not in CASE_ACTIONS:
            return None
        sink = ClickHouseSink(lambda: connect(self.settings))
        try:
            cases = case_states(sink.load_case_states([str(action.get("case_id") or "")]))
            step = apply_case_action(action, cases)
            if isinstance(step, Invalid):
                return None
            sink.insert(CASES_RAW, cases_raw_rows([step], int(action["ts"])))
            sink.insert(CASE_STEPS, step_rows([step]))
        finally:
            sink.reset()
        return dict(action)

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=10)
