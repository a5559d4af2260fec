"""Event identity: one canonical id per event; a repeat changes nothing, a re-used id with
other content is dead-lettered and the original kept (pure parts and the batch step)."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry

from detectors.contract.events import Family, Location, Reading
from detectors.contract.identity import canonical_event_id, content_digest
from detectors.contract.validation import Invalid, Reason
from detectors.rollup.aggregation import SummaryState, window_start_ms
from streams.batch import Message, Validated
from streams.identity import PartitionLedger, Verdict, settle
from streams.metrics import WorkerMetrics
from streams.pipeline import Pipeline
from streams.rollup import PartitionRollups, StoredRow
from tests.unit.test_pipeline_wiring import TOPICS, MemorySink
from tests.unit.test_validation import LOC, NOW, case, check, reading

ID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ID2 = str(uuid.UUID(int=2))
WINDOW = window_start_ms(NOW - 1000)  # the window of every reading here
SPELLINGS = [
    ID.upper(),
    "{" + ID + "}",
    "urn:uuid:" + ID,
    ID.replace("-", ""),
    ID.replace("-", "").upper(),
]


@pytest.mark.parametrize("spelling", [ID, *SPELLINGS])
def test_every_accepted_spelling_becomes_the_canonical_id(spelling: str) -> None:
    assert canonical_event_id(spelling) == ID
    event = check(reading(event_id=spelling))
    assert isinstance(event, Reading) and event.event_id == ID


@settings(max_examples=300)
@given(st.uuids(), st.sampled_from([str, str.upper, lambda s: s.replace("-", "")]))
def test_the_fast_path_for_canonical_ids_agrees_with_parsing(id_: uuid.UUID, spell: Any) -> None:
    """Whatever the spelling, the id is uuid's own canonical form; a canonical spelling is
    returned without parsing, and it is that form already."""
    assert canonical_event_id(spell(str(id_))) == str(id_)


def test_case_reports_carry_the_canonical_id_too() -> None:
    event = check(case(event_id="{" + ID.upper() + "}"), Family.CASE)
    assert not isinstance(event, Invalid) and event.event_id == ID


@pytest.mark.parametrize(
    "spelling",
    [
        ID[:-2] + "\u0661\u0662",  # Arabic-Indic digits: int() reads them, we do not
        ID[:-2] + "\uff11\uff12",  # full-width digits
        ID.replace("a", "\u0430"),  # Cyrillic a
        "not-a-uuid",
        "",
    ],
)
def test_non_ascii_or_malformed_ids_are_bad_event_ids(spelling: str) -> None:
    assert canonical_event_id(spelling) is None
    verdict = check(reading(event_id=spelling))
    assert isinstance(verdict, Invalid) and verdict.reason == Reason.BAD_EVENT_ID


def _reading(value: float = 2.5, event_id: str = ID, ts_ms: int = NOW - 1000) -> Reading:
    return Reading(event_id, ts_ms, Family.WATER, "WAT-0001", "water_level", value, LOC)


def test_digest_ignores_the_id_and_sees_every_field() -> None:
    base = _reading()
    assert content_digest(base) == content_digest(replace(base, event_id=str(uuid.uuid4())))
    other_place = replace(base, location=Location("CB", "D1", "D1-S1", "D1-S1-G02"))
    changed = [replace(base, value=2.6), replace(base, ts_ms=base.ts_ms + 1), other_place]
    assert all(content_digest(c) != content_digest(base) for c in changed)


def test_ledger_tells_new_repeat_and_conflict() -> None:
    ledger = PartitionLedger()
    ledger.install(ledger.missing({WINDOW}), [])
    assert ledger.record(_reading()) is Verdict.NEW
    assert ledger.record(_reading()) is Verdict.REPEAT
    assert ledger.record(_reading(value=9.0)) is Verdict.CONFLICT
    assert ledger.record(_reading(event_id=str(uuid.UUID(int=1)))) is Verdict.NEW


def test_ledger_installs_what_the_store_holds_and_evicts() -> None:
    ledger = PartitionLedger()
    assert ledger.missing({WINDOW}) == {WINDOW}
    ledger.install({WINDOW}, [_reading(value=7.0)])
    assert ledger.missing({WINDOW}) == set()
    assert ledger.record(_reading(value=7.0)) is Verdict.REPEAT
    assert ledger.record(_reading(value=2.5)) is Verdict.CONFLICT
    assert ledger.evict(WINDOW + 1) == 1 and ledger.missing({WINDOW}) == {WINDOW}


def _batch(events: list[tuple[int, Reading]]) -> tuple[list[Message], Validated]:
    messages = [Message("t.water", 0, offset, NOW, None, b"") for offset, _ in events]
    validated = Validated()
    for message, (_, event) in zip(messages, events, strict=True):
        validated.readings.append((message, event))
        validated.ordered.append((message, event))
    return messages, validated


def _loaded(events: list[Reading]) -> tuple[dict[Any, PartitionLedger], dict[Any, Any]]:
    windows = {window_start_ms(e.ts_ms) for e in events}
    ledger, rollups = PartitionLedger(), PartitionRollups("t.water", 0)
    ledger.install(windows, [])
    rollups.install(windows, [])
    return {("t.water", 0): ledger}, {("t.water", 0): rollups}


def test_settle_keeps_the_first_sending_and_dead_letters_the_conflict() -> None:
    events = [(1, _reading()), (2, _reading()), (3, _reading(value=9.0)), (4, _reading(1.0, ID2))]
    _, validated = _batch(events)
    settled = settle(validated, *_loaded([e for _, e in events]))
    kept = [(m.offset, e.value) for m, e in settled.validated.readings]
    assert kept == [(1, 2.5), (4, 1.0)]
    assert [m.offset for m, _ in settled.validated.ordered] == [1, 4]
    assert [m.offset for m, _ in settled.repeats] == [2]
    [(message, invalid)] = settled.validated.dead
    assert message.offset == 3 and invalid.reason == Reason.CONFLICTING_EVENT_ID
    assert ID in invalid.detail


def test_a_redelivered_message_goes_to_the_detectors_once_and_nowhere_else() -> None:
    ledgers, rollups = _loaded([_reading()])
    ledgers[("t.water", 0)].record(_reading())  # stored before the crash
    folded = SummaryState(1, 2.5, 2.5, 2.5)
    cell = StoredRow(WINDOW, ("grid", LOC.grid, "water_level"), "water", folded, 5)
    rollups[("t.water", 0)].install({WINDOW}, [cell])  # folded up to offset 5
    _, validated = _batch([(3, _reading()), (4, _reading()), (9, _reading())])
    settled = settle(validated, ledgers, rollups)
    assert settled.validated.readings == []
    assert [m.offset for m, _ in settled.validated.ordered] == [3]
    assert [m.offset for m, _ in settled.repeats] == [4, 9]
    assert settled.redelivered == 1


class StoringSink(MemorySink):
    """A memory sink that reads back what it stored, as ClickHouse does after a restart."""

    def load_identities(self, windows: object) -> list[Reading]:
        return [
            Reading(r[0], r[2], Family(r[3]), r[4], r[5], r[6], Location(*r[7:11]))  # type: ignore[arg-type]
            for r in self.tables.get("events_raw", [])
        ]

    def load_rollups(self, topic: str, partition: int, windows: object) -> list[StoredRow]:
        latest: dict[tuple[Any, ...], tuple[Any, ...]] = {}
        for r in self.tables.get("rollups_1m", []):
            if latest.get(r[:5], r)[-1] <= r[-1]:  # ReplacingMergeTree(version)
                latest[r[:5]] = r
        return [
            StoredRow(r[4] * 1000, r[:3], r[3], SummaryState(*r[7:11]), r[11])
            for r in latest.values()
        ]


def _pipeline(sink: MemorySink) -> Pipeline:
    metrics = WorkerMetrics.create(CollectorRegistry())
    return Pipeline(sink, metrics, TOPICS, worker_name="test", clock=lambda: NOW / 1000)  # type: ignore[arg-type]


def _send(pipeline: Pipeline, docs: list[dict[str, Any]], first_offset: int) -> Validated:
    messages = [
        Message("t.water", 0, first_offset + i, NOW, None, orjson.dumps(doc))
        for i, doc in enumerate(docs)
    ]
    return asyncio.run(pipeline.process(messages))


def _city_rollup(sink: MemorySink) -> tuple[int, float]:
    latest = max((r for r in sink.tables["rollups_1m"] if r[0] == "city"), key=lambda r: r[-1])
    return latest[7], latest[8]


def test_repeats_change_nothing_and_conflicts_keep_the_original_across_a_restart() -> None:
    sink = StoringSink()
    _send(_pipeline(sink), [reading(event_id=ID, value=2.0)], 0)
    again = [reading(event_id=s, value=2.0) for s in SPELLINGS[:3]]
    done = _send(_pipeline(sink), [*again, reading(event_id=ID, value=4.0)], 1)  # restarted
    assert done.ordered == [] and [i.reason for _, i in done.dead] == ["conflicting_event_id"]
    assert [(r[0], r[6]) for r in sink.tables["events_raw"]] == [(ID, 2.0)]
    assert _city_rollup(sink) == (1, 2.0)
