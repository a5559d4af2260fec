"""One batch of Kafka messages through validation and roll-up: pure, no I/O.

The worker's agent collects a batch, this module turns it into the rows each table needs,
and the sink writes them. Tests drive it without Kafka or ClickHouse.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from detectors.contract import dead_letter
from detectors.contract.events import CASE_METRIC, CaseReport, Family, Reading
from detectors.contract.validation import Invalid, Registry, TimeBounds, validate
from detectors.rollup.aggregation import window_start_ms
from streams.rollup import PartitionRollups, StoredRow

TP = tuple[str, int]


@dataclass(frozen=True, slots=True)
class Message:
    """The parts of a consumed Kafka message the worker uses."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int
    key: bytes | None
    value: bytes


@dataclass
class Validated:
    """A batch split by verdict, each item kept with its message."""

    readings: list[tuple[Message, Reading]] = field(default_factory=list)
    cases: list[tuple[Message, CaseReport]] = field(default_factory=list)
    dead: list[tuple[Message, Invalid]] = field(default_factory=list)

    ordered: list[tuple[Message, Reading | CaseReport]] = field(default_factory=list)
    """Every valid event with its message, in consumption order (what detection reads)."""

    def events(self) -> list[tuple[Message, Reading | CaseReport]]:
        """Every valid event, readings and case reports alike."""
        return [*self.readings, *self.cases]


def validate_batch(
    messages: Sequence[Message],
    family_of_topic: Mapping[str, Family | None],
    registry: Registry,
    bounds: TimeBounds,
) -> Validated:
    """Validate every message against its topic's family."""
    out = Validated()
    for message in messages:
        verdict = validate(message.value, family_of_topic[message.topic], registry, bounds)
        if isinstance(verdict, Reading):
            out.readings.append((message, verdict))
            out.ordered.append((message, verdict))
        elif isinstance(verdict, CaseReport):
            out.cases.append((message, verdict))
            out.ordered.append((message, verdict))
        else:
            out.dead.append((message, verdict))
    return out


def windows_needed(validated: Validated) -> dict[TP, set[int]]:
    """The roll-up windows each partition's events fall in."""
    needed: dict[TP, set[int]] = defaultdict(set)
    for message, event in validated.events():
        needed[(message.topic, message.partition)].add(window_start_ms(event.ts_ms))
    return needed


def fold_rollups(
    validated: Validated,
    messages: Sequence[Message],
    states: Mapping[TP, PartitionRollups],
) -> list[tuple[TP, StoredRow]]:
    """Fold the valid events into their partitions' windows; return the changed rows.

    Every partition in the batch is stamped with its last offset in the batch, valid or not,
    because every message up to it has been seen.
    """
    for message, reading in validated.readings:
        states[(message.topic, message.partition)].apply(
            message.offset,
            reading.ts_ms,
            reading.family.value,
            reading.metric,
            reading.value,
            reading.location,
        )
    for message, case in validated.cases:
        states[(message.topic, message.partition)].apply(
            message.offset, case.ts_ms, Family.CASE.value, CASE_METRIC, 1.0, case.location
        )
    last_offset: dict[TP, int] = {}
    for message in messages:
        tp = (message.topic, message.partition)
        last_offset[tp] = max(message.offset, last_offset.get(tp, -1))
    changed: list[tuple[TP, StoredRow]] = []
    for tp, offset in last_offset.items():
        if tp in states:
            changed.extend((tp, row) for row in states[tp].drain(offset))
    return changed


def raw_rows(validated: Validated, ingested_ms: int) -> list[tuple[object, ...]]:
    """Rows of ``events_raw``, in its spec's column order (integer timestamps: the driver
    encodes them ten times faster), stored at ``ingested_ms`` (the wall clock)."""
    ingested_s = ingested_ms // 1000
    rows: list[tuple[object, ...]] = []
    for _, r in validated.readings:
        loc = r.location
        rows.append((
            r.event_id, r.ts_ms // 1000, r.ts_ms, r.family.value, r.source_id, r.metric,
            r.value, loc.city, loc.district, loc.street, loc.grid, ingested_s, ingested_ms,
        ))  # fmt: skip
    return rows


def case_rows(validated: Validated, ingested_ms: int) -> list[tuple[object, ...]]:
    """Rows of ``cases_raw``, in its spec's column order, stored at ``ingested_ms``."""
    ingested_s = ingested_ms // 1000
    rows: list[tuple[object, ...]] = []
    for _, c in validated.cases:
        loc = c.location
        rows.append((
            c.event_id, c.ts_ms // 1000, c.ts_ms, c.case_id, c.category, c.status, c.source_id,
            loc.city, loc.district, loc.street, loc.grid, c.lon, c.lat, c.text, c.photo_ref,
            ingested_s, ingested_ms,
        ))  # fmt: skip
    return rows


def dead_rows(
    validated: Validated, family_of_topic: Mapping[str, Family | None], worker: str
) -> list[tuple[object, ...]]:
    """Rows of ``dead_letters``, keeping the original bytes (up to the contract's cap)."""
    return [
        dead_letter.row(m.topic, m.partition, m.offset, m.timestamp_ms // 1000,
                        _family_name(family_of_topic[m.topic]), inv.reason, inv.detail,
                        m.value, worker)
        for m, inv in validated.dead
    ]  # fmt: skip


def _family_name(family: Family | None) -> str:
    return "merged" if family is None else family.value


def rollup_rows(changed: Sequence[tuple[TP, StoredRow]]) -> list[tuple[object, ...]]:
    """Rows of ``rollups_1m``, in its spec's column order."""
    return [
        (row.key[0], row.key[1], row.key[2], row.family, row.window_ms // 1000, topic, partition,
         row.state.cnt, row.state.total, row.state.low, row.state.high, row.version)
        for (topic, partition), row in changed
    ]  # fmt: skip
