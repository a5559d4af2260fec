"""Incidents: related alerts grouped per area and time, under one parent that notifies.

An alert joins an open incident that shares its street (or the incident's wider scope);
an alert of the same metric elsewhere in the same district widens the incident to the
district (a flood along the river, smog over a district), and so on up to the city. An
incident stays open ``gap_ms`` after its last alert clears, so a flickering sensor does
not open a new incident each time.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from detectors.alerting.escalation import TIERS, common_level, rank
from detectors.contract.levels import WarningLevel
from detectors.contract.places import AreaLevel, Location


@dataclass(slots=True)
class Incident:
    """An open incident: plain fields so that it snapshots with :func:`dataclasses.asdict`."""

    incident_id: str
    opened_ms: int
    location: list[str]  # codes (city, district, street, grid) of the first alert
    scope: str  # the smallest level holding every alert so far
    level: int
    tier: str
    tier_since_ms: int
    metrics: list[str] = field(default_factory=list)
    alerts: list[str] = field(default_factory=list)  # ids of active member alerts
    quiet_since: int | None = None  # when its last alert cleared
    acked: bool = False
    seq: int = 0

    @property
    def where(self) -> Location:
        return Location(*self.location)

    def scope_location(self) -> Location:
        """The incident's area: codes below its scope blanked."""
        return self.where.within(self.scope)

    def dump(self) -> dict[str, Any]:
        return asdict(self)


def reaches(incident: Incident, where: Location, metric: str, group_level: str) -> str | None:
    """The scope ``incident`` would have if an alert at ``where`` joined it, or None if the
    alert does not belong to it."""
    join = TIERS[max(rank(incident.scope), rank(group_level))]
    if where.code(join) == incident.where.code(join):
        return TIERS[max(rank(incident.scope), rank(common_level(where, incident.where)))]
    if join == AreaLevel.CITY or metric not in incident.metrics:
        return None
    parent = TIERS[rank(join) + 1]
    return parent if where.code(parent) == incident.where.code(parent) else None


def open_for(
    incidents: dict[str, Incident],
    where: Location,
    metric: str,
    now_ms: int,
    gap_ms: int,
    group_level: str,
) -> tuple[Incident, str] | None:
    """The open incident an alert joins and its scope after joining (the narrowest first)."""
    best: tuple[Incident, str] | None = None
    for incident in incidents.values():
        if incident.quiet_since is not None and now_ms - incident.quiet_since > gap_ms:
            continue
        scope = reaches(incident, where, metric, group_level)
        if scope is not None and (best is None or rank(scope) < rank(best[1])):
            best = (incident, scope)
    return best


def incident_level(incident: Incident, levels: dict[str, int]) -> WarningLevel:
    """The gravest level of the incident's active alerts (its own while it is quiet)."""
    active = [levels[a] for a in incident.alerts if a in levels]
    return WarningLevel(max(active) if active else incident.level)
