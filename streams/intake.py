"""What the alerting agent reads: decisions and ticks from the ingest stage, actions from
operators; parsed, de-duplicated by offset and applied in order to the alerting stage."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from detectors.validation import Invalid
from streams.alerting import AlertingStage, StageOutput, decision_from
from streams.batch import Message

Rejected = list[tuple[Message, Invalid]]


class AlertIntake:
    """Turns a batch of alerting-topic and action-topic messages into stage calls."""

    def __init__(self, decisions_topic: str, actions_topic: str) -> None:
        self.decisions_topic = decisions_topic
        self.actions_topic = actions_topic

    def apply(
        self, stage: AlertingStage, messages: Sequence[Message]
    ) -> tuple[StageOutput, Rejected, int | None]:
        """Apply the batch; returns the output, rejected messages and the event time
        reached (None when nothing new arrived)."""
        out, rejected = StageOutput(), []
        pending: list[Any] = []
        now_ms: int | None = None
        for message in messages:
            if message.offset <= stage.offsets.get(message.topic, -1):
                continue  # applied before a restart: the snapshot already has it
            stage.offsets[message.topic] = message.offset
            try:
                doc = orjson.loads(message.value)
                if not isinstance(doc, dict):
                    raise ValueError("not a JSON object")
            except ValueError as exc:
                rejected.append((message, Invalid("malformed_json", str(exc)[:200])))
                continue
            if message.topic == self.actions_topic:
                if pending:
                    stage.decide(pending, max(d.ts_ms for d in pending), out)
                    pending = []
                before = len(out.rejected)
                stage.act(len(rejected), doc, out)
                if len(out.rejected) > before:
                    rejected.append((message, out.rejected[-1][1]))
                elif isinstance(doc.get("ts"), int):
                    now_ms = max(now_ms or 0, int(doc["ts"]))
            elif doc.get("type") == "tick":
                now_ms = max(now_ms or 0, int(doc["ts_ms"]))
            else:
                decision = decision_from(doc)
                pending.append(decision)
                now_ms = max(now_ms or 0, decision.ts_ms)
        if pending or now_ms is not None:
            stage.decide(pending, now_ms or max(d.ts_ms for d in pending), out)
        return out, rejected, now_ms

    @staticmethod
    def dead_rows(rejected: Rejected, worker: str) -> list[tuple[object, ...]]:
        """Rows for dead_letters: a refused action is kept with its reason."""
        return [
            (m.topic, m.partition, m.offset, m.timestamp_ms // 1000, "alert_action",
             inv.reason, inv.detail, m.value, worker)
            for m, inv in rejected
        ]  # fmt: skip
