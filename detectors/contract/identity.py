"""An event's identity: its canonical id, and a digest of what it says.

The wire accepts an event id in any spelling :class:`uuid.UUID` parses (upper case, braces,
``urn:uuid:``, no dashes); the worker keys storage and de-duplication by one canonical
spelling, so the same event sent twice in two spellings is still one event. Two events
with one id and different content are a conflict, told apart by :func:`content_digest`.
"""

from __future__ import annotations

import re
import uuid

from detectors.contract.events import CaseReport, Reading

_CANONICAL = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
"""The one spelling: what every producer of ours sends, read without parsing (a sixth of
uuid's cost, and the worker reads it for every event)."""


def canonical_event_id(spelling: str) -> str | None:
    """The one spelling of an event id (lower-case, hyphenated), or None if it is no UUID.

    Only ASCII is accepted: ``uuid.UUID`` would also read other scripts' digits, and an id
    that looks different in every tool is no identity.

    >>> canonical_event_id("{00000000-0000-0000-0000-0000000000AB}")
    '00000000-0000-0000-0000-0000000000ab'
    >>> canonical_event_id("urn:uuid:000000000000000000000000000000ab")
    '00000000-0000-0000-0000-0000000000ab'
    >>> canonical_event_id("00000000-0000-0000-0000-0000000000\\u0661\\u0662") is None
    True
    >>> canonical_event_id("9176f936-23cf-52eb-81fb-9f1b69535e6d")  # already canonical
    '9176f936-23cf-52eb-81fb-9f1b69535e6d'
    """
    if _CANONICAL.fullmatch(spelling):
        return spelling
    if not spelling.isascii():
        return None
    try:
        return str(uuid.UUID(spelling))
    except ValueError:
        return None


def content_digest(event: Reading | CaseReport) -> int:
    """A digest of everything an event says except its id: equal for a repeat of the same
    event, different (but for a 2**-64 chance) when an id is re-used for other content.

    It is Python's hash of the fields, so it holds within one process only: the worker
    recomputes it for events it reads back from the store, never stores it.
    """
    loc = event.location
    if isinstance(event, Reading):  # Family is a StrEnum: it hashes as its value
        said: tuple[object, ...] = (
            event.ts_ms, event.family, event.source_id, event.metric, event.value,
            loc.city, loc.district, loc.street, loc.grid,
        )  # fmt: skip
    else:
        said = (
            event.ts_ms, event.case_id, event.category, event.status, event.source_id,
            loc.city, loc.district, loc.street, loc.grid, event.lon, event.lat, event.text,
            event.photo_ref,
        )  # fmt: skip
    return hash(said)
