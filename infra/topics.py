"""Kafka topic names, derived from one prefix so a replay can run in its own namespace."""

from __future__ import annotations

from detectors.events import Family


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
