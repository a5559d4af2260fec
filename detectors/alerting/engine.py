"""The alert engine: decisions become warning-level alerts, grouped into incidents and
escalated up the command tiers; every state change is an :class:`AlertEvent`.

- one active alert per key: repeats while it is active change nothing;
- it clears only after ``clear_after`` decisions in a row score below ``clear_below``;
- condition and area alerts join an incident (see :mod:`detectors.alerting.incidents`), which
  notifies for them; sensor-fault alerts stand alone and never make an area incident;
- tiers rise with the level, the spread and time left unacknowledged;
- an alert that a silence covers (:mod:`detectors.contract.silences`) is raised and
  recorded as usual but marked with the silence: it notifies no one, joins no incident and
  does not escalate; when the silence ends, the alert (if still active) is unsilenced and
  from then on behaves like any other;
- it watches open grid-management cases: a step past its time limit is an alert that
  escalates as it grows later and clears when the step is done
  (:mod:`detectors.alerting.overdue`).

>>> from detectors.contract.places import Location
>>> where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
>>> def decision(ts, score):
...     return Decision("S1:pm25:condition", "condition", "S1", "pm25", where, "static",
...                     score, 120.0, ts, threshold=115.0)
>>> engine = AlertEngine()
>>> [str(e.kind) for e in engine.step([decision(0, 0.78)], now_ms=0)]
['raised', 'incident_opened', 'grouped']
>>> engine.step([decision(60_000, 0.78)], now_ms=60_000)   # no repeats
[]
>>> [str(e.kind) for e in engine.step([decision(t, 0.1) for t in (1, 2, 3)], now_ms=3)]
['cleared']
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from types import MappingProxyType
from typing import Any

from detectors.alerting.escalation import LEVEL_TIER, higher, overdue, raise_tier, rank, tier_for
from detectors.alerting.incidents import Incident, incident_level, open_for
from detectors.alerting.overdue import (
    LEVEL,
    MAX_WATCHED,
    OVERDUE_METRIC,
    CaseMove,
    WatchedCase,
    case_key,
    evidence,
    judge,
    lateness_reason,
    mark,
    still_late,
    wake_after,
)
from detectors.alerting.types import (
    Alert,
    AlertEvent,
    Decision,
    alert_event,
    alert_id,
    incident_event,
    incident_id,
)
from detectors.contract.alerts import AlertKind, Category
from detectors.contract.case_limits import Lateness
from detectors.contract.events import CASE_STATUSES
from detectors.contract.levels import ALARM, CLEAR_BELOW, WarningLevel, level_for
from detectors.contract.places import AreaLevel, Location
from detectors.contract.silences import Silence, first_match

MINUTE_MS = 60_000
ALONE = frozenset({Category.FAULT, Category.CASE, Category.QUALITY})
"""Categories whose alerts join no incident: a broken sensor, a late case or a broken data
promise is not a situation in its area."""


@dataclass(frozen=True, slots=True)
class AlertPolicy:
    """The engine's knobs."""

    clear_below: float = CLEAR_BELOW
    clear_after: int = 3  # readings below clear_below before an alert clears
    lower_after: int = 3  # readings at a lower level before the level drops
    group_level: str = AreaLevel.STREET
    gap_ms: int = 30 * MINUTE_MS  # how long a quiet incident still takes members
    stale_ms: int = 2 * 60 * MINUTE_MS  # an alert whose key stops reporting clears


class AlertEngine:
    """Pure and deterministic: the same decisions and times give the same events."""

    def __init__(self, policy: AlertPolicy | None = None) -> None:
        self.policy = policy or AlertPolicy()
        self._alerts: dict[str, Alert] = {}  # by key
        self._incidents: dict[str, Incident] = {}  # open ones, by id
        self._silences: dict[str, Silence] = {}  # live or future ones, by id
        self._cases: dict[str, WatchedCase] = {}  # open cases, by id

    # -- state -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        return {
            "policy": asdict(self.policy),
            "alerts": [a.dump() for a in self._alerts.values()],
            "incidents": [i.dump() for i in self._incidents.values()],
            "silences": [s.dump() for s in self._silences.values()],
            "cases": [c.dump() for c in self._cases.values()],
        }

    @classmethod
    def restore(cls, snapshot: Mapping[str, Any]) -> AlertEngine:
        engine = cls(AlertPolicy(**snapshot["policy"]))
        engine._alerts = {a["key"]: Alert(**a) for a in snapshot["alerts"]}
        engine._incidents = {i["incident_id"]: Incident(**i) for i in snapshot["incidents"]}
        silences = snapshot.get("silences", [])  # a snapshot from before silences has none
        engine._silences = {s["silence_id"]: Silence(**s) for s in silences}
        cases = snapshot.get("cases", [])  # nor one from before cases were watched
        engine._cases = {c["case_id"]: WatchedCase(**c) for c in cases}
        return engine

    @property
    def active(self) -> Mapping[str, Alert]:
        """Active alerts by key, to read: every change goes through the engine's methods."""
        return MappingProxyType(self._alerts)

    @property
    def incidents(self) -> Mapping[str, Incident]:
        """Open incidents by id, to read: every change goes through the engine's methods."""
        return MappingProxyType(self._incidents)

    @property
    def silences(self) -> Mapping[str, Silence]:
        """Silences in force or still to come, by id, to read."""
        return MappingProxyType(self._silences)

    @property
    def cases(self) -> Mapping[str, WatchedCase]:
        """Open cases watched for lateness, by id, to read."""
        return MappingProxyType(self._cases)

    def find(self, alert_id: str) -> Alert | None:
        """The active alert with this id, to read (None when there is none)."""
        return next((a for a in self._alerts.values() if a.alert_id == alert_id), None)

    # -- inputs ------------------------------------------------------------------------
    def step(self, decisions: Iterable[Decision], now_ms: int) -> list[AlertEvent]:
        """Apply decisions in order, then the passage of time up to ``now_ms`` (time up to
        the first decision passes first, so stale state never captures a new alert)."""
        batch = list(decisions)
        events = self.tick(min(d.ts_ms for d in batch)) if batch else []
        return events + self.apply(batch) + self.tick(now_ms)

    def apply(self, decisions: Iterable[Decision]) -> list[AlertEvent]:
        """Apply decisions in order without moving the clock: time passes only by
        :meth:`tick`, so a stream of decisions and ticks in one order gives the same events
        however it is cut into batches (replays are deterministic at any speed)."""
        events: list[AlertEvent] = []
        for decision in decisions:
            alert = self._alerts.get(decision.key)
            if alert is None:
                if decision.score >= ALARM:
                    events += self._raise(decision)
            else:
                events += self._update(alert, decision)
        return events

    def tick(self, now_ms: int) -> list[AlertEvent]:
        """Stale alerts clear, quiet incidents close, unacknowledged ones escalate."""
        events = self._resilence(now_ms)
        for alert in list(self._alerts.values()):
            if alert.category == Category.CASE:
                continue  # no decisions come for a case: its own clock judges it
            if now_ms - alert.last_ms > self.policy.stale_ms:
                events += self._clear(alert, now_ms, "no decisions: stale")
            elif not alert.incident_id and not alert.silence_id:
                events += self._overdue_alert(alert, now_ms)
        for incident in list(self._incidents.values()):
            if incident.quiet_since is not None:
                if now_ms - incident.quiet_since > self.policy.gap_ms:
                    del self._incidents[incident.incident_id]
                    events.append(incident_event(incident, AlertKind.INCIDENT_CLOSED, now_ms, ""))
            else:
                events += self._overdue_incident(incident, now_ms)
        for case in list(self._cases.values()):
            if now_ms > case.wake_ms:
                events += self._judge_case(case, now_ms)
        return events

    # -- operator actions --------------------------------------------------------------
    def acknowledge(self, target_id: str, now_ms: int, by: str = "") -> list[AlertEvent]:
        """An operator acknowledged an alert or an incident: time escalation stops."""
        kind, reason = AlertKind.ACKNOWLEDGED, f"by {by}"
        incident = self._incidents.get(target_id)
        if incident is not None:
            incident.acked = True
            return [incident_event(incident, kind, now_ms, reason, False)]
        alert = self.find(target_id)
        if alert is None:
            return []
        alert.acked = True
        return [alert_event(self._incidents, alert, kind, now_ms, reason, False)]

    def escalate(self, target_id: str) -> str | None:
        """An operator raised an alert or an incident one tier: its new tier (None when
        there is no such alert or incident). The time at the tier keeps running."""
        subject = self.find(target_id) or self._incidents.get(target_id)
        if subject is None:
            return None
        subject.tier = raise_tier(subject.tier)
        return subject.tier

    def resolve(self, target_id: str) -> None:
        """An operator resolved an alert or an incident: the engine forgets it (no
        ``cleared`` event: the operator's ``resolved`` says how it ended)."""
        alert = self.find(target_id)
        if alert is None:
            self._incidents.pop(target_id, None)
            return
        del self._alerts[alert.key]
        incident = self._incidents.get(alert.incident_id)
        if incident is not None and target_id in incident.alerts:
            incident.alerts.remove(target_id)

    # -- silences ----------------------------------------------------------------------
    def silence(self, silence: Silence, now_ms: int) -> list[AlertEvent]:
        """An operator made a silence: active alerts it covers now are muted."""
        self._silences[silence.silence_id] = silence
        return self._resilence(now_ms)

    def unsilence(self, silence_id: str, now_ms: int) -> list[AlertEvent]:
        """An operator expired or deleted a silence: the alerts it muted are unmuted (unless
        another silence covers them)."""
        self._silences.pop(silence_id, None)
        return self._resilence(now_ms)

    def drop_ended_silences(self, now_ms: int) -> list[Silence]:
        """Forget the silences whose window is over; returns them."""
        ended = [s for s in self._silences.values() if s.end_ms <= now_ms]
        for silence in ended:
            del self._silences[silence.silence_id]
        return ended

    def _silence_for(self, alert: Alert, ts_ms: int) -> str:
        source_id = str(alert.evidence.get("source_id", ""))
        where = Location(*alert.location)
        return first_match(self._silences.values(), source_id, alert.metric, where, ts_ms)

    def _resilence(self, now_ms: int) -> list[AlertEvent]:
        """Mute alerts a silence now covers, unmute those whose silence ended."""
        events: list[AlertEvent] = []
        if not self._silences and not any(a.silence_id for a in self._alerts.values()):
            return events
        for alert in list(self._alerts.values()):
            muted_by = self._silence_for(alert, now_ms)
            if muted_by == alert.silence_id:
                continue
            if not muted_by:
                events += self._unmute(alert, now_ms)
            else:
                events += self._mute(alert, muted_by, now_ms)
        return events

    def _mute(self, alert: Alert, silence_id: str, ts_ms: int) -> list[AlertEvent]:
        alert.silence_id = silence_id
        events: list[AlertEvent] = []
        incident = self._incidents.get(alert.incident_id)
        if incident is not None:  # a muted alert speaks for no situation: it leaves
            incident.alerts.remove(alert.alert_id)
            alert.incident_id = ""
            if not incident.alerts:
                incident.quiet_since = ts_ms
            else:
                events += self._incident_relevel(incident, ts_ms)
        reason = "muted by a silence"  # which one: the event's silence_id
        return [alert_event(self._incidents, alert, AlertKind.SILENCED, ts_ms, reason), *events]

    def _unmute(self, alert: Alert, ts_ms: int) -> list[AlertEvent]:
        reason = "its silence ended"
        alert.silence_id = ""
        alert.tier_since_ms = ts_ms  # time unacknowledged counts from now
        grouped = [] if alert.category in ALONE else self._group(alert, ts_ms)
        unmuted = alert_event(self._incidents, alert, AlertKind.UNSILENCED, ts_ms, reason)
        return [unmuted, *grouped]

    # -- alerts ------------------------------------------------------------------------
    def _raise(self, decision: Decision) -> list[AlertEvent]:
        level = level_for(decision.score) or WarningLevel.IV
        alert = Alert(
            alert_id=alert_id(decision.key, decision.ts_ms),
            key=decision.key,
            category=decision.category,
            metric=decision.metric,
            location=decision.location.codes(),
            opened_ms=decision.ts_ms,
            last_ms=decision.ts_ms,
            level=int(level),
            tier=LEVEL_TIER[level],
            tier_since_ms=decision.ts_ms,
            evidence=decision.evidence(),
        )
        self._alerts[decision.key] = alert
        alert.silence_id = self._silence_for(alert, decision.ts_ms)
        # a broken sensor or data promise is not a situation in its area: it joins no
        # incident; a muted alert joins none until its silence ends
        alone = alert.category in ALONE or alert.silence_id
        grouped = [] if alone else self._group(alert, decision.ts_ms)
        reason = f"{decision.detector} scored {decision.score:.2f}"
        raised = alert_event(self._incidents, alert, AlertKind.RAISED, decision.ts_ms, reason)
        return [raised, *grouped]

    def _update(self, alert: Alert, decision: Decision) -> list[AlertEvent]:
        alert.last_ms = max(alert.last_ms, decision.ts_ms)
        if decision.score < self.policy.clear_below:
            alert.below += 1
            if alert.below < self.policy.clear_after:
                return []
            return self._clear(alert, decision.ts_ms, f"below {self.policy.clear_below}")
        alert.below = 0
        level = int(level_for(decision.score) or WarningLevel.IV)
        if level == alert.level:
            alert.lower = 0
            return []
        if level < alert.level:
            alert.lower += 1
            if alert.lower < self.policy.lower_after:
                return []
        alert.lower, alert.evidence = 0, decision.evidence()
        return self._relevel(alert, level, decision.ts_ms)

    def _relevel(self, alert: Alert, level: int, ts_ms: int) -> list[AlertEvent]:
        rising = level > alert.level
        alert.level = level
        reason = f"level {'up' if rising else 'down'} to {WarningLevel(level).roman}"
        changed = alert_event(
            self._incidents, alert, AlertKind.LEVEL_CHANGED, ts_ms, reason, rising
        )
        events = [changed]
        incident = self._incidents.get(alert.incident_id)
        if incident is not None:
            return events + self._incident_relevel(incident, ts_ms)
        return events + self._retier_alert(alert, ts_ms, "level")

    def _clear(self, alert: Alert, ts_ms: int, reason: str) -> list[AlertEvent]:
        del self._alerts[alert.key]
        events = [alert_event(self._incidents, alert, AlertKind.CLEARED, ts_ms, reason)]
        incident = self._incidents.get(alert.incident_id)
        if incident is not None:
            incident.alerts.remove(alert.alert_id)
            if not incident.alerts:  # quiet since its last alert last heard anything
                incident.quiet_since = alert.last_ms
            else:
                events += self._incident_relevel(incident, ts_ms)
        return events

    def _retier_alert(self, alert: Alert, ts_ms: int, why: str) -> list[AlertEvent]:
        tier = higher(alert.tier, LEVEL_TIER[WarningLevel(alert.level)])
        if tier == alert.tier or alert.silence_id:
            return []
        alert.tier, alert.tier_since_ms = tier, ts_ms
        reason = f"{why}: to {tier}"
        return [alert_event(self._incidents, alert, AlertKind.ESCALATED, ts_ms, reason)]

    def _overdue_alert(self, alert: Alert, now_ms: int) -> list[AlertEvent]:
        if not overdue(alert.tier, alert.acked, now_ms - alert.tier_since_ms):
            return []
        waited = (now_ms - alert.tier_since_ms) // MINUTE_MS
        alert.tier, alert.tier_since_ms = raise_tier(alert.tier), now_ms
        reason = f"unacknowledged for {waited} min: to {alert.tier}"
        return [alert_event(self._incidents, alert, AlertKind.ESCALATED, now_ms, reason)]

    # -- cases -------------------------------------------------------------------------
    def case_moved(self, move: CaseMove) -> list[AlertEvent]:
        """A case was filed or moved on: watch its clock (an evaluated one no longer); its
        overdue alert clears when the step it is about is done."""
        case = self._cases.get(move.case_id)
        if case is None:
            case = self._watch(move)
        case.note(move)
        case.wake_ms = wake_after(case, 0)  # the due time of the step it now waits on
        alert = self._case_alert(case)
        events: list[AlertEvent] = []
        if alert is not None and not still_late(case):
            step = case.alerted.split("@")[0]
            events = self._clear(alert, move.ts_ms, f"case step {step} done")
        if case.through:
            del self._cases[case.case_id]
        return events

    def _watch(self, move: CaseMove) -> WatchedCase:
        """Start watching a case; one let go before (too many open) takes back its active
        alert, so that it still clears when the case moves on."""
        case = WatchedCase(move.case_id, move.category, list(move.location.codes()))
        for step in CASE_STATUSES:
            alert = self._alerts.get(case_key(move.case_id, step))
            if alert is not None:
                case.alerted = f"{step}@{alert.evidence.get('due_ms')}"
        self._cases[move.case_id] = case
        while len(self._cases) > MAX_WATCHED:
            del self._cases[next(iter(self._cases))]  # the longest watched
        return case

    def _case_alert(self, case: WatchedCase) -> Alert | None:
        """The active alert of the case's alerted lateness (None: none, or it ended)."""
        step = case.alerted.split("@")[0]
        return self._alerts.get(case_key(case.case_id, step)) if step else None

    def _judge_case(self, case: WatchedCase, now_ms: int) -> list[AlertEvent]:
        case.wake_ms = wake_after(case, now_ms)
        late = judge(case, now_ms)
        if late is None:
            return []
        alert = self._case_alert(case)
        if mark(late) != case.alerted:
            case.alerted = mark(late)
            ended = self._clear(alert, now_ms, "superseded") if alert is not None else []
            return ended + self._raise_case(case, late, now_ms)
        if alert is not None and alert.silence_id:
            case.wake_ms = now_ms  # muted: its tier catches up once the silence ends
            return []
        if alert is None or rank(late.tier) <= rank(alert.tier):
            return []  # resolved by an operator, or no later than its tier says
        alert.tier, alert.tier_since_ms, alert.last_ms = late.tier, now_ms, now_ms
        alert.evidence = evidence(case, late)
        reason = lateness_reason(late, late.tier)
        return [alert_event(self._incidents, alert, AlertKind.ESCALATED, now_ms, reason)]

    def _raise_case(self, case: WatchedCase, late: Lateness, now_ms: int) -> list[AlertEvent]:
        key = case_key(case.case_id, late.status)
        alert = Alert(
            alert_id=alert_id(key, late.due_ms), key=key, category=Category.CASE,
            metric=OVERDUE_METRIC, location=list(case.location), opened_ms=late.due_ms,
            last_ms=now_ms, level=int(LEVEL), tier=late.tier, tier_since_ms=now_ms,
            evidence=evidence(case, late),
        )  # fmt: skip
        self._alerts[key] = alert
        alert.silence_id = self._silence_for(alert, now_ms)
        reason = lateness_reason(late)
        return [alert_event(self._incidents, alert, AlertKind.RAISED, now_ms, reason)]

    # -- incidents ---------------------------------------------------------------------
    def _group(self, alert: Alert, ts_ms: int) -> list[AlertEvent]:
        where = Location(*alert.location)
        found = open_for(
            self._incidents, where, alert.metric, ts_ms, self.policy.gap_ms, self.policy.group_level
        )
        if found is None:
            return self._open(alert, ts_ms)
        incident, scope = found
        alert.incident_id, incident.quiet_since = incident.incident_id, None
        incident.alerts.append(alert.alert_id)
        if alert.metric not in incident.metrics:
            incident.metrics.append(alert.metric)
        # reasons are read by people: the incident is named by its row, never by its id
        into = f"joined the open {incident.scope} incident"
        events = [alert_event(self._incidents, alert, AlertKind.GROUPED, ts_ms, into)]
        if scope != incident.scope:
            incident.scope = scope
            events.append(incident_event(incident, AlertKind.INCIDENT_WIDENED, ts_ms, scope))
        return events + self._incident_relevel(incident, ts_ms, "spread")

    def _open(self, alert: Alert, ts_ms: int) -> list[AlertEvent]:
        level = WarningLevel(alert.level)
        incident = Incident(
            incident_id=incident_id(alert.alert_id),
            opened_ms=ts_ms,
            location=list(alert.location),
            scope=AreaLevel.GRID,
            level=alert.level,
            tier=tier_for(level, AreaLevel.GRID),
            tier_since_ms=ts_ms,
            metrics=[alert.metric],
            alerts=[alert.alert_id],
        )
        self._incidents[incident.incident_id] = incident
        alert.incident_id = incident.incident_id
        reason = f"{alert.category} alert on {alert.metric}"
        into = "opened a new incident"
        return [
            incident_event(incident, AlertKind.INCIDENT_OPENED, ts_ms, reason),
            alert_event(self._incidents, alert, AlertKind.GROUPED, ts_ms, into),
        ]

    def _incident_relevel(
        self, incident: Incident, ts_ms: int, why: str = "level"
    ) -> list[AlertEvent]:
        levels = {a.alert_id: a.level for a in self._alerts.values() if a.incident_id}
        level = incident_level(incident, levels)
        events = []
        if int(level) != incident.level:
            rising = int(level) > incident.level
            incident.level = int(level)
            events.append(
                incident_event(
                    incident, AlertKind.INCIDENT_LEVEL_CHANGED, ts_ms, level.roman, rising
                )
            )
        tier = higher(incident.tier, tier_for(level, incident.scope))
        if tier != incident.tier:
            incident.tier, incident.tier_since_ms = tier, ts_ms
            events.append(
                incident_event(incident, AlertKind.INCIDENT_ESCALATED, ts_ms, f"{why}: to {tier}")
            )
        return events

    def _overdue_incident(self, incident: Incident, now_ms: int) -> list[AlertEvent]:
        if not overdue(incident.tier, incident.acked, now_ms - incident.tier_since_ms):
            return []
        waited = (now_ms - incident.tier_since_ms) // MINUTE_MS
        incident.tier, incident.tier_since_ms = raise_tier(incident.tier), now_ms
        reason = f"unacknowledged for {waited} min: to {incident.tier}"
        return [incident_event(incident, AlertKind.INCIDENT_ESCALATED, now_ms, reason)]
