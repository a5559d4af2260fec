"""Event identity in the worker: a repeat of a stored event changes nothing, and an id
re-used for other content is dead-lettered while the original is kept. Pure, no I/O.

The same event has the same time, so it falls in the same roll-up window as its first
sending. Each partition therefore keeps, per open window, the canonical ids of the events
in it with a digest of their content (:class:`PartitionLedger`); a window that enters
memory (a new minute, a restart, a late event after eviction) is filled from what the
store holds for that minute, whatever partition wrote it. A batch is checked against its
ledgers and against its own earlier events: one dictionary look-up per event, no query.

A re-delivery (the same Kafka message again after a crash) is told apart from a second
sending by its offset: the roll-up row of its grid cell already includes it. It still goes
to the detectors, which skip what their restored state has learnt, as before.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum

from detectors.contract.events import CASE_METRIC, CaseReport, Reading
from detectors.contract.identity import content_digest
from detectors.contract.validation import Invalid, Reason
from detectors.rollup.aggregation import window_start_ms
from streams.batch import TP, Message, Validated
from streams.rollup import PartitionRollups

Event = Reading | CaseReport


class Verdict(Enum):
    """What an event is to the ledger of its window."""

    NEW = "new"
    REPEAT = "repeat"  # this id with this content is already in the window
    CONFLICT = "conflict"  # this id is already in the window with other content


@dataclass
class PartitionLedger:
    """The ids and content digests of the events in one partition's open windows."""

    windows: dict[int, dict[str, int]] = field(default_factory=dict)

    def missing(self, window_starts: Iterable[int]) -> set[int]:
        """Windows whose stored ids must be loaded before events can be checked."""
        return {w for w in window_starts if w not in self.windows}

    def install(self, window_starts: Iterable[int], stored: Iterable[Event]) -> None:
        """Adopt the events the store holds for windows being loaded."""
        for w in window_starts:
            self.windows.setdefault(w, {})
        for event in stored:
            window = self.windows.get(window_start_ms(event.ts_ms))
            if window is not None:
                window.setdefault(event.event_id, content_digest(event))

    def record(self, event: Event) -> Verdict:
        """Check an event against its window, and remember it there if it is new."""
        window = self.windows[window_start_ms(event.ts_ms)]
        digest = content_digest(event)
        known = window.get(event.event_id)
        if known is None:
            window[event.event_id] = digest
            return Verdict.NEW
        return Verdict.REPEAT if known == digest else Verdict.CONFLICT

    def evict(self, older_than_ms: int) -> int:
        """Forget windows that started before ``older_than_ms`` (with their roll-ups)."""
        old = [w for w in self.windows if w < older_than_ms]
        for w in old:
            del self.windows[w]
        return len(old)


@dataclass
class Settled:
    """A validated batch after the identity check."""

    validated: Validated
    """What to store and detect; conflicts added to its dead letters."""
    repeats: list[tuple[Message, Event]] = field(default_factory=list)
    """Second sendings of stored events: skipped everywhere."""
    redelivered: int = 0
    """Re-deliveries of stored events: passed to the detectors only."""


def settle(
    validated: Validated,
    ledgers: Mapping[TP, PartitionLedger],
    rollups: Mapping[TP, PartitionRollups],
) -> Settled:
    """Sort a batch's valid events into new ones, repeats and conflicts, in consumption
    order (the first sending in a batch wins). The windows must be loaded."""
    out = Settled(Validated(dead=list(validated.dead)))
    detected: set[str] = set()
    for message, event in validated.ordered:
        tp = (message.topic, message.partition)
        verdict = ledgers[tp].record(event)
        if verdict is Verdict.CONFLICT:
            out.validated.dead.append((message, conflict(event)))
        elif verdict is Verdict.NEW:
            _keep(out.validated, message, event)
            detected.add(event.event_id)
        elif _redelivered(rollups[tp], message, event) and event.event_id not in detected:
            out.validated.ordered.append((message, event))  # stored and rolled up already
            detected.add(event.event_id)
            out.redelivered += 1
        else:
            out.repeats.append((message, event))
    return out


def conflict(event: Event) -> Invalid:
    """The dead-letter reason of an event whose id is stored with other content."""
    return Invalid(
        Reason.CONFLICTING_EVENT_ID,
        f"event_id {event.event_id} is already stored with other content at ts {event.ts_ms}"
        "; the original is kept",
    )


def _keep(validated: Validated, message: Message, event: Event) -> None:
    if isinstance(event, Reading):
        validated.readings.append((message, event))
    else:
        validated.cases.append((message, event))
    validated.ordered.append((message, event))


def _redelivered(rollups: PartitionRollups, message: Message, event: Event) -> bool:
    metric = event.metric if isinstance(event, Reading) else CASE_METRIC
    return rollups.folded(message.offset, event.ts_ms, metric, event.location)
