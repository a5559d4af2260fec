"""What the alerting agent reads: decisions, ticks and case events from the ingest stage,
actions from operators; parsed, de-duplicated by offset and applied in order to the
alerting stage (and case actions to the cases they name, and to the engine's watch of
their clocks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import orjson

from detectors.alerting.overdue import CaseMove
from detectors.alerting.types import Decision
from detectors.contract import dead_letter
from detectors.contract.cases import CASE_ACTIONS
from detectors.contract.validation import Invalid, Reason
from streams.alert_rows import stage_rows
from streams.alerting import AlertingStage, StageOutput, case_move_from, decision_from
from streams.batch import Message
from streams.case_steps import CaseState, CaseStep, apply_case_action

Rejected = list[tuple[Message, Invalid]]


class AlertIntake:
    """Turns a batch of alerting-topic and action-topic messages into stage calls."""

    def __init__(self, decisions_topic: str, actions_topic: str) -> None:
        self.decisions_topic = decisions_topic
        self.actions_topic = actions_topic

    def case_ids(self, stage: AlertingStage, messages: Sequence[Message]) -> set[str]:
        """The cases that the batch's new case actions name: what to look up first."""
        found = set()
        for message in messages:
            if message.topic != self.actions_topic or message.offset <= stage.offsets.get(
                message.topic, -1
            ):
                continue
            try:
                doc = orjson.loads(message.value)
            except ValueError:
                continue
            if isinstance(doc, dict) and doc.get("action") in CASE_ACTIONS:
                found.add(str(doc.get("case_id") or ""))
        return found - {""}

    def apply(
        self,
        stage: AlertingStage,
        messages: Sequence[Message],
        cases: dict[str, CaseState] | None = None,
    ) -> tuple[StageOutput, Rejected, list[tuple[object, ...]]]:
        """Apply the batch in order: decisions without moving the clock, ticks (event time,
        from the ingest stage; with several workers the lowest of their partitions', see
        :class:`streams.alerting.Watermark`) moving it, actions at their own time, case actions to
        ``cases`` (where the batch's cases stand; updated as they move). Returns the
        output, the rejected messages and the stage-change rows (taken at each tick)."""
        cases = {} if cases is None else cases
        out, rejected = StageOutput(), []
        stages: list[tuple[object, ...]] = []
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
            if message.topic == self.actions_topic and doc.get("action") in CASE_ACTIONS:
                step = apply_case_action(doc, cases)
                if isinstance(step, Invalid):
                    rejected.append((message, step))
                else:
                    out.case_steps.append(step)
                    _moved(stage, step, out)
            elif message.topic == self.actions_topic:
                refused = stage.act(doc, out)
                if refused is not None:
                    rejected.append((message, refused))
            elif doc.get("type") in ("tick", "idle"):
                try:
                    self._tick(stage, doc, out, stages)
                except (KeyError, TypeError, ValueError) as exc:
                    rejected.append((message, Invalid(Reason.WRONG_TYPE, repr(exc)[:200])))
            else:
                try:  # a decision or a case event: refused now, not when the clock is there
                    decoded = _step_of(doc)
                    int(doc["ts_ms"]), int(doc.get("after") or 0), int(doc.get("seq") or 0)
                except (KeyError, TypeError, ValueError) as exc:
                    rejected.append((message, Invalid(Reason.MISSING_FIELD, repr(exc)[:200])))
                    continue
                if stage.first_time(doc) and (
                    not stage.early_for(doc)  # else it waits for the clock
                ):
                    self._step(stage, decoded, out, stages)
        return out, rejected, stages

    def _tick(self, stage: AlertingStage, doc: dict[str, Any], out: StageOutput,
              stages: list[tuple[object, ...]]) -> None:  # fmt: skip
        """A worker's tick or idle word: the clock moves (see streams.alerting.Watermark),
        and the minutes it passes are applied with the steps that waited for them."""
        parts = doc.get("partitions")
        before = stage.clock.now
        if doc["type"] == "idle":
            moved = stage.clock.idle([int(p) for p in parts or ()])
        else:
            tick = int(doc["ts_ms"])
            moved = stage.clock.tick(tick, None if parts is None else [int(p) for p in parts])
        if moved is not None:
            for due in stage.advance(before, moved):  # waiting steps are kept as JSON
                self._step(stage, due if isinstance(due, int) else _step_of(due), out, stages)
        else:
            for doc in stage.unblock():
                self._step(stage, _step_of(doc), out, stages)

    @staticmethod
    def _step(stage: AlertingStage, step: int | CaseMove | Decision, out: StageOutput,
              stages: list[tuple[object, ...]]) -> None:  # fmt: skip
        """Apply one step of the workers' detection: a clock minute, a case event or a
        decision."""
        if isinstance(step, int):
            out.events += stage.led(stage.engine.tick(step))
            stage.end_silences(step, out)
            stages += stage_rows(stage, step)
        elif isinstance(step, CaseMove):
            out.events += stage.engine.case_moved(step)
        else:
            out.events += stage.led(stage.engine.apply([step]))

    @staticmethod
    def dead_rows(rejected: Rejected, worker: str) -> list[tuple[object, ...]]:
        """Rows for dead_letters: a refused action is kept with its reason."""
        return [
            dead_letter.row(m.topic, m.partition, m.offset, m.timestamp_ms // 1000,
                            _family(m), inv.reason, inv.detail, m.value, worker)
            for m, inv in rejected
        ]  # fmt: skip


def _moved(stage: AlertingStage, step: CaseStep, out: StageOutput) -> None:
    """An applied case action moves the case's clock: the overdue alert it ends is ended
    by the operator who acted."""
    case = step.case
    move = CaseMove(case.case_id, case.category, case.status, case.ts_ms, case.location,
                    step.department)  # fmt: skip
    for event in stage.engine.case_moved(move):
        out.actors[event.event_id] = (step.actor, step.comment)
        out.events.append(event)


def _family(message: Message) -> str:
    """The family a refused action is dead-lettered under: case or alert action."""
    try:
        doc = orjson.loads(message.value)
    except ValueError:
        return "alert_action"
    is_case = isinstance(doc, dict) and doc.get("action") in CASE_ACTIONS
    return "case_action" if is_case else "alert_action"


def _step_of(doc: Mapping[str, Any]) -> CaseMove | Decision:
    """A case event or a decision as the alerting topic carries it, decoded once."""
    return case_move_from(doc) if doc.get("type") == "case" else decision_from(doc)
