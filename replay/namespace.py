"""Where a replay lives: its database, topic prefix and worker id, all from its name.

A replay writes only inside its namespace, so deleting a replay is dropping one database
and the topics that carry its prefix.

>>> ns = namespace("flood_v2")
>>> ns.database, ns.topic_prefix, ns.app_id
('replay_flood_v2', 'replay-flood_v2', 'replay-flood_v2-worker')
>>> ns.owns_topic("replay-flood_v2.water"), ns.owns_topic("replay-flood_v2x.water")
(True, False)
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from infra.topics import owned_by, worker_app_id

NAME_PATTERN = re.compile(r"[a-z0-9_]{1,40}")


class BadName(ValueError):
    """A replay name that is not ``[a-z0-9_]{1,40}``."""


@dataclass(frozen=True, slots=True)
class Namespace:
    """The names one replay writes under."""

    name: str
    database: str
    topic_prefix: str
    app_id: str

    def owns_topic(self, topic: str) -> bool:
        """Whether ``topic`` belongs to this replay (its family, dead-letter, alert topics,
        and the worker's internal topics named after its app id)."""
        return owned_by(self.topic_prefix, topic)


def check_name(name: str) -> str:
    """``name`` if it is a valid replay name, else BadName saying why."""
    if not NAME_PATTERN.fullmatch(name):
        raise BadName(f"replay name {name!r} must be 1 to 40 characters of a-z, 0-9 and _")
    return name


def namespace(name: str) -> Namespace:
    """The namespace of replay ``name`` (checked)."""
    check_name(name)
    prefix = f"replay-{name}"
    return Namespace(name, f"replay_{name}", prefix, worker_app_id(prefix))
