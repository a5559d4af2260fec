"""The worker's alerting step: detector decisions and operator actions in, alert events and
the rows of the alert tables out. Pure: the agent feeds it and writes what it returns.

One engine serves the whole city (the alerting topic has one partition), so incidents can
group alerts across districts and escalate to the city tier. Every change is an
:class:`AlertEvent`; operator actions become events of the same shape, so the audit trail
in ``alert_events`` is complete and ``alerts_current`` always holds the latest state.

How the engine learns each open case's step times (to raise, escalate and clear overdue
case alerts, :mod:`detectors.alerting.overdue`): the ingest stage forwards every valid case
event on the alerting topic where it falls among the event-time ticks
(:func:`case_to_json`), and the case actions the alerting stage applies itself feed it
directly. Why this and not reading ``cases_raw`` for every open case at each tick: the
steps then reach the engine in the same order as the clock that judges them, so a replay
gives the same alerts at any speed and however batches are cut; no query scans every open
case every minute; and the watched cases are in the engine's snapshot, so a restart neither
forgets a case nor alerts a lateness twice. (``load_case_states`` still checks each action
against ``cases_raw``, which also knows cases from before the engine watched them: such a
case is watched from its next step on.)
"""

from __future__ import annotations

import base64
import dataclasses
import time
import uuid
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from detectors.alerting.engine import AlertEngine
from detectors.alerting.incidents import Incident
from detectors.alerting.overdue import CaseMove
from detectors.alerting.types import NAMESPACE, AlertEvent, Decision, decision_of, with_lead
from detectors.contract.actions import SILENCE_ACTIONS, ActionError, silence_of, validate_action
from detectors.contract.alerts import ENDING_KINDS, AlertKind, Category
from detectors.contract.events import CaseReport
from detectors.contract.levels import WarningLevel
from detectors.contract.places import AreaLevel, Location
from detectors.contract.silences import Silence, SilenceStatus
from detectors.contract.validation import Invalid
from streams.case_steps import CaseStep

RECENT_LIMIT = 5000


def decision_to_json(decision: Decision, after: int | None = None, seq: int | None = None) -> bytes:
    """A decision as it travels on the alerting topic; ``after``: the sending worker's last
    tick before it (see :meth:`AlertingStage.early_for`), ``seq``: its number among its
    key's decisions (see :meth:`AlertingStage.first_time`)."""
    doc: dict[str, Any] = {"type": "decision", **dataclasses.asdict(decision)}
    if after is not None:
        doc["after"] = after
    if seq is not None:
        doc["seq"] = seq
    return orjson.dumps(doc)


def notice(event: AlertEvent, names: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    """An event's record as the alerts topic carries it: with the (English, Chinese) names
    of its places, so a notifier can explain it without the city model."""
    places = {code: list(names[code]) for code in event.location.codes() if code in names}
    return {**event.record(), "places": places}


CHUNK_BYTES = 256 * 1024
"""Table values stay far below Kafka's 1 MB message limit, however many alerts are open."""


def pack_snapshot(key: str, snapshot: Mapping[str, Any]) -> dict[str, Any]:
    """Table entries for a snapshot: compressed, cut into chunks under ``key/i``, with a
    manifest under ``key``."""
    blob = zlib.compress(orjson.dumps(snapshot), 6)
    chunks = [blob[i : i + CHUNK_BYTES] for i in range(0, len(blob), CHUNK_BYTES)] or [b""]
    entries: dict[str, Any] = {key: {"chunks": len(chunks), "bytes": len(blob)}}
    for i, chunk in enumerate(chunks):
        entries[f"{key}/{i}"] = base64.b64encode(chunk).decode()
    return entries


def unpack_snapshot(key: str, entries: Mapping[str, Any]) -> dict[str, Any] | None:
    """The snapshot :func:`pack_snapshot` stored, or None when there is none (yet)."""
    manifest = entries.get(key)
    if not manifest:
        return None
    blob = b"".join(base64.b64decode(entries[f"{key}/{i}"]) for i in range(manifest["chunks"]))
    loaded: dict[str, Any] = orjson.loads(zlib.decompress(blob))
    return loaded


def tick_to_json(ts_ms: int, partitions: Iterable[int] | None = None) -> bytes:
    """The passage of event time, for the engine's clock when no decision comes: a worker's
    tick names the input partitions it holds (see :class:`Watermark`)."""
    if partitions is None:
        return orjson.dumps({"type": "tick", "ts_ms": ts_ms})
    return orjson.dumps({"type": "tick", "ts_ms": ts_ms, "partitions": sorted(partitions)})


def idle_to_json(partitions: Iterable[int]) -> bytes:
    """A worker's word that its partitions hold nothing unread: the clock need not wait
    for them until they tick again."""
    return orjson.dumps({"type": "idle", "partitions": sorted(partitions)})


MINUTE_MS = 60_000
CASES_HEARD = 10_000
"""Cases whose last applied step the alerting stage remembers, to drop repeats."""
HOLD_S = 180.0
"""How long (wall clock) a partition that has stopped ticking still holds the engine's
clock back: past the consumer group's session timeout (at most 90 s), when another worker
has taken the partition over, and its restore."""


class Watermark:
    """The engine's event-time clock when several workers tick: the lowest latest tick over
    the input partitions (a partition counts from its first tick), so an alert on a worker
    that lags, or a partition between a dead worker and the one taking it over, is not
    judged by another worker's later time. A partition whose worker says it is idle does
    not hold the clock, nor one that has not ticked for ``hold_s`` (wall clock). The clock
    only moves forward; a tick that names no partitions (older messages) is the clock.

    Told which ``partitions`` there are, it does not start until each has ticked (or said
    it is idle, or ``hold_s`` has passed since the clock was made or restored): an engine
    that starts while one worker is far ahead, or reads the topic again from its start
    after a restart, would otherwise take that worker's ticks as the city's time, and judge
    the other worker's case steps overdue by the gap when they come.

    >>> clock = Watermark()
    >>> clock.tick(600_000, [0, 1]), clock.tick(660_000, [2]), clock.tick(720_000, [0, 1])
    (600000, None, 660000)
    >>> clock.idle([2])
    720000
    >>> clock = Watermark(partitions=range(4))
    >>> clock.tick(600_000, [0, 2]), clock.tick(660_000, [0, 2]), clock.waits()
    (None, None, True)
    >>> clock.tick(540_000, [1, 3]), clock.waits()
    (540000, False)
    """

    def __init__(
        self,
        hold_s: float = HOLD_S,
        wall: Callable[[], float] = time.monotonic,
        partitions: Iterable[int] = (),
    ) -> None:
        self.hold_s = hold_s
        self.wall = wall
        self.latest: dict[int, tuple[int, float]] = {}  # partition -> latest tick, when
        self.idle_parts: set[int] = set()
        self.now: int | None = None
        self.partitions = frozenset(partitions)  # those to hear from before starting
        self._since = wall()  # when the clock was made or restored

    def waits(self) -> bool:
        """Whether the clock has not started because a partition has not ticked yet (nor
        said it is idle) and its hold has not passed: a step made meanwhile by a worker
        that has ticked waits for the clock too."""
        if self.now is not None or self._since < self.wall() - self.hold_s:
            return False
        return any(p not in self.latest and p not in self.idle_parts for p in self.partitions)

    def tick(self, ts_ms: int, partitions: Iterable[int] | None) -> int | None:
        """The clock's new time after a tick, or None if it does not move."""
        if partitions is None:
            return self._move(ts_ms)
        at = self.wall()
        for p in partitions:
            self.latest[p] = (max(self.latest.get(p, (ts_ms, at))[0], ts_ms), at)
            self.idle_parts.discard(p)
        return self._move(self._low())

    def idle(self, partitions: Iterable[int]) -> int | None:
        self.idle_parts.update(partitions)
        return self._move(self._low()) if self.latest else None

    def snapshot(self) -> dict[str, Any]:
        """What a restore needs: each partition's latest tick and which are idle (without
        them a restored clock jumps to the first tick it reads, one worker's, ahead of the
        partitions of another that lags)."""
        return {"now": self.now, "latest": {str(p): t for p, (t, _) in self.latest.items()},
                "idle": sorted(self.idle_parts)}  # fmt: skip

    def restore(self, snap: Mapping[str, Any]) -> None:
        """Take a snapshot's state; each partition's hold counts from now (wall clock)."""
        at = self._since = self.wall()
        self.now = snap.get("now")
        self.latest = {int(p): (int(t), at) for p, t in snap.get("latest", {}).items()}
        self.idle_parts = {int(p) for p in snap.get("idle", ())}

    def _low(self) -> int | None:
        if self.waits():
            return None
        since = self.wall() - self.hold_s
        top = max(t for t, _ in self.latest.values())
        live = [t for p, (t, at) in self.latest.items() if p not in self.idle_parts and at >= since]
        return min(live, default=top)

    def _move(self, ts_ms: int | None) -> int | None:
        if ts_ms is None or self.now is not None and ts_ms <= self.now:
            return None
        self.now = ts_ms
        return ts_ms


def case_to_json(case: CaseReport, after: int | None = None) -> bytes:
    """A case event as it travels on the alerting topic: what the engine watches of it."""
    doc = {
        "type": "case", "case_id": case.case_id, "category": case.category,
        "status": case.status, "ts_ms": case.ts_ms, "location": dataclasses.asdict(case.location),
    }  # fmt: skip
    return orjson.dumps(doc if after is None else {**doc, "after": after})


def step_to_json(
    step: Decision | int | CaseReport,
    partitions: Iterable[int] | None = None,
    after: int | None = None,
    seq: int | None = None,
) -> bytes:
    """One output of the ingest stage's detection (a decision, a tick, a case event) as the
    alerting topic carries it; ``partitions``: those the sending worker holds, ``after``:
    its last tick before this step, ``seq``: a decision's number for its key."""
    if isinstance(step, int):
        return tick_to_json(step, partitions)
    if isinstance(step, CaseReport):
        return case_to_json(step, after)
    return decision_to_json(step, after, seq)


def case_move_from(doc: Mapping[str, Any]) -> CaseMove:
    return CaseMove(str(doc["case_id"]), str(doc["category"]), str(doc["status"]),
                    int(doc["ts_ms"]), Location(**doc["location"]))  # fmt: skip


def feed(engine: AlertEngine, step: Decision | int | CaseReport) -> list[AlertEvent]:
    """The engine's events for one output of detection, as the alerting stage applies it
    (for tools that run detection and the engine in one process)."""
    if isinstance(step, int):
        return engine.tick(step)
    if isinstance(step, CaseReport):
        return engine.case_moved(
            CaseMove(step.case_id, step.category, step.status, step.ts_ms, step.location)
        )
    return engine.apply([step])


def decision_from(doc: Mapping[str, Any]) -> Decision:
    return decision_of(doc)


@dataclass
class StageOutput:
    """What one batch produced."""

    events: list[AlertEvent] = field(default_factory=list)
    actors: dict[str, tuple[str, str]] = field(default_factory=dict)  # event id -> actor, note
    silences: list[SilenceChange] = field(default_factory=list)
    case_steps: list[CaseStep] = field(default_factory=list)


@dataclass(frozen=True)
class SilenceChange:
    """A silence made, expired or deleted (by an operator, or by its end passing): a row
    of the ``silences`` trail."""

    silence: Silence
    status: str  # a SilenceStatus
    ts_ms: int
    action_id: str = ""  # '' when its end passed
    actor: str = ""
    role: str = ""
    comment: str = ""


class AlertingStage:
    """The city's alert engine plus what the tables need beyond it (who acknowledged,
    who is assigned, which alerts ended recently, area stages)."""

    def __init__(self, engine: AlertEngine | None = None, partitions: Iterable[int] = ()) -> None:
        self.engine = engine or AlertEngine()
        self.meta: dict[str, dict[str, Any]] = {}  # alert/incident id -> table fields
        self.ended: dict[str, str] = {}  # recently ended id -> how it ended
        self.stages: dict[str, int] = {}  # "level:code" -> stage
        self.version = 0
        self.offsets: dict[str, int] = {}  # topic -> last offset applied
        self.clock = Watermark(partitions=partitions)  # the input partitions that tick
        self.early: list[dict[str, Any]] = []  # decisions and case events ahead of the clock
        self.heard: dict[str, int] = {}  # key -> the number of its latest decision applied
        self.cases_heard: dict[str, list[Any]] = {}  # case id -> [ts, status] last applied

    def snapshot(self) -> dict[str, Any]:
        return {
            "engine": self.engine.snapshot(), "meta": self.meta, "ended": self.ended,
            "stages": self.stages, "version": self.version, "offsets": self.offsets,
            "clock": self.clock.now, "watermark": self.clock.snapshot(), "early": self.early,
            "heard": self.heard, "cases_heard": self.cases_heard,
        }  # fmt: skip

    @classmethod
    def restore(cls, snap: Mapping[str, Any], partitions: Iterable[int] = ()) -> AlertingStage:
        stage = cls(AlertEngine.restore(snap["engine"]), partitions)
        stage.meta, stage.ended = dict(snap["meta"]), dict(snap["ended"])
        stage.stages, stage.version = dict(snap["stages"]), int(snap["version"])
        stage.offsets = {k: int(v) for k, v in snap["offsets"].items()}
        stage.clock.restore(snap.get("watermark") or {"now": snap.get("clock")})
        stage.early = list(snap.get("early", []))
        stage.heard = {k: int(n) for k, n in snap.get("heard", {}).items()}
        stage.cases_heard = {k: list(v) for k, v in snap.get("cases_heard", {}).items()}
        return stage

    # -- the workers' steps in event-time order ----------------------------------------
    def first_time(self, doc: Mapping[str, Any]) -> bool:
        """Whether a decision is new: a worker that restarts from its last checkpoint (or
        takes over another's partitions) sends the decisions made since again, under the
        numbers they had (``seq``, :meth:`detectors.alerting.changes.ChangeFilter.stamp`)."""
        if doc.get("type") == "case":
            return self._case_first_time(doc)
        seq = doc.get("seq")
        if seq is None:
            return True
        key = str(doc["key"])
        if int(seq) <= self.heard.get(key, 0):
            return False
        self.heard[key] = int(seq)
        return True

    def _case_first_time(self, doc: Mapping[str, Any]) -> bool:
        """A case event is new unless its case's last applied step is at the same time with
        the same status, or later (a case's steps come in order, on one partition); the
        last few thousand cases that moved are remembered, far more than move while a
        worker restarts."""
        case_id, step = str(doc["case_id"]), [int(doc["ts_ms"]), str(doc["status"])]
        last = self.cases_heard.pop(case_id, None)
        if last is not None and (step[0] < last[0] or step == last):
            self.cases_heard[case_id] = last
            return False
        self.cases_heard[case_id] = step
        while len(self.cases_heard) > CASES_HEARD:
            del self.cases_heard[next(iter(self.cases_heard))]
        return True

    def early_for(self, doc: Mapping[str, Any]) -> bool:
        """Whether a decision or case event is ahead of the engine's clock and waits for it
        (see :meth:`advance`): its worker had ticked past the clock (``after``) before it
        was made, because another worker lags."""
        now, after = self.clock.now, doc.get("after")
        if after is not None and (int(after) > now if now is not None else self.clock.waits()):
            self.early.append(dict(doc))
            return True
        return False

    def unblock(self) -> list[dict[str, Any]]:
        """The steps that wait for a clock that has not started, once nothing holds it any
        more (every input partition said it is idle, or the hold passed) and no worker has
        ticked: they would otherwise wait for a first tick that may never come (all the
        input inside one minute, then none). In the order one worker would have sent
        them; the clock stays unstarted, and what comes later applies at once."""
        if self.clock.now is not None or self.clock.waits() or not self.early:
            return []
        ready, self.early = _in_sent_order(self.early), []
        return ready

    def advance(self, before: int | None, to: int) -> Iterator[int | dict[str, Any]]:
        """The clock moved from ``before`` to ``to``: each minute in between in turn, each
        after the waiting steps made since the tick before it (those of two workers by
        event time), in the order one worker would have sent them."""
        minutes = list(range(before + MINUTE_MS, to, MINUTE_MS)) if before is not None else []
        waiting = _in_sent_order(self.early)
        done = 0  # sorted once: a long gap passes many minutes over many waiting steps
        for t in [*minutes, to]:
            start = done
            while done < len(waiting) and int(waiting[done]["after"]) < t:
                done += 1
            if done > start:
                self.early = waiting[done:]
                yield from waiting[start:done]
            yield t

    def led(self, events: Iterable[AlertEvent]) -> list[AlertEvent]:
        """The events with each incident's gravest active alert as its ``lead`` evidence:
        what an incident's explanation measures (most decisions change nothing: no cost)."""
        events = list(events)
        if not any(e.incident_id and not e.alert_id for e in events):
            return events
        active = list(self.engine.active.values())
        return [with_lead(event, active) for event in events]

    def act(self, action: Mapping[str, Any], out: StageOutput) -> Invalid | None:
        """Apply one operator action; or return why it is refused (nothing changes)."""
        if action.get("action") in SILENCE_ACTIONS:
            return self._act_on_silence(action, out)
        problem = self._check(action)
        if problem is not None:
            return problem
        kind, target = str(action["action"]), str(action["alert_id"])
        ts, actor = int(action["ts"]), str(action["actor"])
        note = str(action.get("comment") or "")
        if kind == "acknowledge":
            events = self.led(self.engine.acknowledge(target, ts, by=actor))
            self.meta_of(target)["acknowledged_by"] = actor
        else:
            events = self.led([self._action_event(kind, target, action)])
        for event in events:
            out.actors[event.event_id] = (actor, note)
        out.events += self.led(events)
        return None

    def _act_on_silence(self, action: Mapping[str, Any], out: StageOutput) -> Invalid | None:
        try:
            clean = validate_action(action)  # the same contract the dashboard checks
        except ActionError as exc:
            return Invalid("bad_action", str(exc))
        kind, silence_id, ts = clean["action"], clean["silence_id"], clean["ts"]
        if kind == "create_silence":
            if silence_id in self.engine.silences or silence_id in self.ended:
                return Invalid("silence_exists", f"silence {silence_id} exists already")
            silence, status = silence_of(clean), SilenceStatus.ACTIVE
            events = self.engine.silence(silence, ts)
        else:
            found = self.engine.silences.get(silence_id)
            if found is None:
                how = self.ended.get(silence_id, "")
                detail = f"silence {silence_id} is already {how}" if how else "no such silence"
                return Invalid("silence_ended" if how else "unknown_silence", detail)
            if clean["district"] and found.district != clean["district"]:
                return Invalid("not_permitted", f"silence {silence_id} is outside your district")
            expire = kind == "expire_silence"
            silence = dataclasses.replace(found, end_ms=min(found.end_ms, ts)) if expire else found
            status = SilenceStatus.EXPIRED if expire else SilenceStatus.DELETED
            events = self.engine.unsilence(silence_id, ts)
            self._forget_silence(silence_id, status)
        for event in events:
            out.actors[event.event_id] = (clean["actor"], clean["comment"])
        out.events += self.led(events)
        out.silences.append(SilenceChange(silence, status, ts, clean["action_id"], clean["actor"],
                                          clean["role"], clean["comment"]))  # fmt: skip
        return None

    def end_silences(self, now_ms: int, out: StageOutput) -> None:
        """Record the silences whose end passed by ``now_ms`` (their alerts were unmuted by
        the engine's tick)."""
        for silence in self.engine.drop_ended_silences(now_ms):
            self._forget_silence(silence.silence_id, SilenceStatus.EXPIRED)
            out.silences.append(SilenceChange(silence, SilenceStatus.EXPIRED, now_ms))

    def _forget_silence(self, silence_id: str, status: str) -> None:
        self.ended[silence_id] = status
        while len(self.ended) > RECENT_LIMIT:
            self.ended.pop(next(iter(self.ended)))

    def _check(self, action: Mapping[str, Any]) -> Invalid | None:
        try:
            validate_action(action)  # the same contract the dashboard checks before sending
        except ActionError as exc:
            return Invalid("bad_action", str(exc))
        target = str(action["alert_id"])
        if target in self.ended:
            return Invalid("alert_ended", f"alert {target} is already {self.ended[target]}")
        where = self._location_of(target)
        if where is None:
            return Invalid("unknown_alert", f"no active alert or incident {target[:64]!r}")
        if action["role"] == "district_operator" and where.district not in ("", action.get(
                "district")):  # fmt: skip
            return Invalid("not_permitted", f"alert {target} is outside the actor's district")
        return None

    def _location_of(self, target: str) -> Location | None:
        alert = self.engine.find(target)
        if alert is not None:
            return Location(*alert.location)
        incident = self.engine.incidents.get(target)
        return incident.scope_location() if incident is not None else None

    def meta_of(self, target: str) -> dict[str, Any]:
        """The table fields kept for an alert or incident beyond the engine's state."""
        return self.meta.setdefault(target, {"acknowledged_by": "", "assignee": ""})

    def _action_event(self, kind: str, target: str, action: Mapping[str, Any]) -> AlertEvent:
        alert, incident = self.engine.find(target), self.engine.incidents.get(target)
        level = WarningLevel(alert.level if alert else incident.level if incident else 1)
        tier = alert.tier if alert else incident.tier if incident else AreaLevel.GRID
        where = self._location_of(target) or Location()
        muted_by = alert.silence_id if alert else ""  # a silence mutes operators' escalations too
        if kind == "escalate":
            tier = self.engine.escalate(target) or tier
        elif kind == "assign":
            self.meta_of(target)["assignee"] = str(action["assignee"])
        elif kind == "resolve":
            self.engine.resolve(target)
        return AlertEvent(
            event_id=str(uuid.uuid5(NAMESPACE, f"action|{action['action_id']}")),
            kind=_PAST[kind], ts_ms=int(action["ts"]),
            alert_id=target if alert is not None or incident is None else "",
            incident_id=target if incident is not None else (alert.incident_id if alert else ""),
            key=alert.key if alert else "",
            category=alert.category if alert else Category.INCIDENT,
            level=level, tier=tier, notify=kind == "escalate" and not muted_by,
            reason=f"{_PAST[kind]} by {action['actor']}", location=where,
            evidence=dict(alert.evidence) if alert else _incident_evidence(incident),
            opened_ms=alert.opened_ms if alert else incident.opened_ms if incident else 0,
            silence_id=muted_by,
        )  # fmt: skip

    def remember_ended(self, events: Iterable[AlertEvent]) -> None:
        """Keep a bounded memory of ended alerts, to tell operators why an action fails."""
        for event in events:
            if event.kind in ENDING_KINDS:
                self.ended[event.alert_id or event.incident_id] = event.kind
                self.meta.pop(event.alert_id or event.incident_id, None)
        while len(self.ended) > RECENT_LIMIT:
            self.ended.pop(next(iter(self.ended)))


def _in_sent_order(steps: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Waiting steps in the order one worker would have sent them: by the tick each was
    made after, then by event time (those of two workers interleaved)."""
    return sorted(steps, key=lambda d: (int(d["after"]), int(d["ts_ms"])))


def _incident_evidence(incident: Incident | None) -> dict[str, Any]:
    """What an incident's own events carry, so an action does not blank its row."""
    if incident is None:
        return {}
    return {"alerts": len(incident.alerts), "metrics": list(incident.metrics)}


_PAST = {"acknowledge": AlertKind.ACKNOWLEDGED, "assign": AlertKind.ASSIGNED,
         "comment": AlertKind.COMMENTED, "escalate": AlertKind.ESCALATED,
         "resolve": AlertKind.RESOLVED}  # fmt: skip
"""The event kind each operator action records."""
