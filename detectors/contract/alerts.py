"""The alert vocabulary every process shares: what an alert event says happened (its kind),
where an alert or incident stands (its status), what an event is about (its subject) and
what kind of trouble an alert reports (its category).

Members are strings, so stored columns, JSON records and YAML configs hold the same text
as before and compare equal to it:

>>> AlertKind.RAISED == "raised", AlertStatus("resolved") is AlertStatus.RESOLVED
(True, True)
>>> status_after_kind(AlertKind.INCIDENT_CLOSED, acknowledged=False)
<AlertStatus.CLEARED: 'cleared'>
>>> status_after_kind(AlertKind.ESCALATED, acknowledged=True)
<AlertStatus.ACKNOWLEDGED: 'acknowledged'>
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    """What an alert event reports: the engine's state changes and operators' actions."""

    RAISED = "raised"
    LEVEL_CHANGED = "level_changed"
    ESCALATED = "escalated"
    CLEARED = "cleared"
    GROUPED = "grouped"  # the alert joined an incident
    ACKNOWLEDGED = "acknowledged"
    ASSIGNED = "assigned"
    COMMENTED = "commented"
    RESOLVED = "resolved"
    INCIDENT_OPENED = "incident_opened"
    INCIDENT_WIDENED = "incident_widened"
    INCIDENT_LEVEL_CHANGED = "incident_level_changed"
    INCIDENT_ESCALATED = "incident_escalated"
    INCIDENT_CLOSED = "incident_closed"
    SILENCED = "silenced"  # a silence now covers the alert: recorded, never notified
    UNSILENCED = "unsilenced"  # its silence ended while the alert is still active


ENDING_KINDS: frozenset[AlertKind] = frozenset(
    {AlertKind.CLEARED, AlertKind.RESOLVED, AlertKind.INCIDENT_CLOSED}
)
"""Kinds after which the alert or incident is over: no action applies to it any more."""


class AlertStatus(StrEnum):
    """Where an alert or incident stands (``alerts_current.status``)."""

    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"  # someone is on it; the situation is not over
    CLEARED = "cleared"  # the readings came back (or the incident went quiet)
    RESOLVED = "resolved"  # an operator closed it


ACTIVE_STATUSES: tuple[AlertStatus, ...] = (AlertStatus.ACTIVE, AlertStatus.ACKNOWLEDGED)
"""Statuses that still count for an area's stage: the situation is not over."""

_STATUS_OF_KIND: dict[str, AlertStatus] = {
    AlertKind.CLEARED: AlertStatus.CLEARED,
    AlertKind.INCIDENT_CLOSED: AlertStatus.CLEARED,
    AlertKind.RESOLVED: AlertStatus.RESOLVED,
    AlertKind.ACKNOWLEDGED: AlertStatus.ACKNOWLEDGED,
}


def status_after_kind(kind: str, acknowledged: bool) -> AlertStatus:
    """The status of an alert or incident after an event of ``kind`` (a kind that does
    not end or acknowledge it keeps it active, or acknowledged if someone already did)."""
    default = AlertStatus.ACKNOWLEDGED if acknowledged else AlertStatus.ACTIVE
    return _STATUS_OF_KIND.get(kind, default)


class Subject(StrEnum):
    """What a row of ``alerts_current`` describes."""

    ALERT = "alert"
    INCIDENT = "incident"


class Category(StrEnum):
    """What kind of trouble an alert reports; an event about a whole incident has
    category ``incident``."""

    CONDITION = "condition"  # a sensor's reading is abnormal (limit, forecast, statistics)
    AREA = "area"  # neighbouring sensors agree that something happens in their area
    FAULT = "fault"  # the sensor itself is broken (silent, stuck, disagrees with neighbours)
    CASE = "case"  # a grid-management case's step is past its time limit
    QUALITY = "quality"  # a source breaks its catalog promise (data, not the city)
    INCIDENT = "incident"


ALERT_CATEGORIES: tuple[Category, ...] = (Category.CONDITION, Category.AREA, Category.FAULT)
"""The categories of a single alert (a detector decision's category)."""
