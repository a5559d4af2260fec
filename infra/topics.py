"""Kafka topic names, derived from one prefix so a replay can run in its own namespace."""

from __future__ import annotations

from detectors.contract.events import Family


def family_topic(prefix: str, family: Family) -> str:
    """The topic a family's events are produced to.

    >>> family_topic("citybrain", Family.WATER)
    'citybrain.water'
    """
    return f"{prefix}.{family.value}"


def dead_letter_topic(prefix: str) -> str:
    """The topic every unusable message goes to, with its reason and original bytes."""
    return f"{prefix}.deadletter"


def all_family_topics(prefix: str) -> dict[Family, str]:
    """Every family's topic, keyed by family."""
    return {family: family_topic(prefix, family) for family in Family}


def alerts_topic(prefix: str) -> str:
    """Alert and incident state changes, as the worker raises them (for notifiers and
    other consumers)."""
    return f"{prefix}.alerts"


def alert_actions_topic(prefix: str) -> str:
    """Operator actions on alerts (acknowledge, assign, comment, escalate, resolve), sent by
    the dashboard and applied by the worker: the one write path of the audit trail."""
    return f"{prefix}.alert_actions"


def alerting_topic(prefix: str) -> str:
    """Internal: detector decisions, watermarks and operator actions keyed by district, so
    one worker runs each district's alert engine in event-time order."""
    return f"{prefix}.alerting"


def merged_topic(prefix: str) -> str:
    """One topic carrying every family in event-time order: what a replay produces, so
    that a one-partition namespace is consumed in one total order (determinism)."""
    return f"{prefix}.merged"


def worker_app_id(prefix: str) -> str:
    """The worker's Faust app id in a namespace: its consumer group, and the start of the
    names of the topics Faust makes for itself (table changelogs, leader topic)."""
    return f"{prefix}-worker"


def owned_by(prefix: str, topic: str) -> bool:
    """Whether ``topic`` belongs to the namespace of ``prefix``: its family, dead-letter,
    alert and internal topics, and its worker's own topics.

    >>> owned_by("cb-1", "cb-1.water"), owned_by("cb-1", "cb-1-worker-__assignor-__leader")
    (True, True)
    >>> owned_by("cb-1", "cb-10.water"), owned_by("cb-1", "cb-1-workerx-a")
    (False, False)
    """
    return topic.startswith(f"{prefix}.") or topic.startswith(f"{worker_app_id(prefix)}-")
