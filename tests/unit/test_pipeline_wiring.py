"""The worker's batch step with an in-memory sink: what it writes, and that a failing
store is retried rather than losing the batch."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import orjson
import pytest
from prometheus_client import CollectorRegistry

from detectors.contract.events import Family
from detectors.contract.validation import Registry
from streams.batch import Message
from streams.metrics import WorkerMetrics
from streams.pipeline import PartitionsMoved, Pipeline
from streams.rollup import StoredRow
from tests.unit.test_validation import NOW, REGISTRY, case, reading


class MemorySink:
    """Stands in for ClickHouse where ClickHouse is not the point of the test."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.tables: dict[str, list[tuple[object, ...]]] = {}

    def _put(self, table: str, rows: Sequence[tuple[object, ...]]) -> int:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("server went away")
        self.tables.setdefault(table, []).extend(rows)
        return len(rows)

    def write_raw(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self._put("events_raw", rows)

    def write_cases(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self._put("cases_raw", rows)

    def write_dead_letters(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self._put("dead_letters", rows)

    def write_rollups(self, rows: Sequence[tuple[object, ...]]) -> int:
        return self._put("rollups_1m", rows)

    def load_rollups(self, topic: str, partition: int, windows: object) -> list[StoredRow]:
        return []

    def load_identities(self, windows: object) -> list[object]:
        return []

    def load_registry(self) -> Registry:
        return REGISTRY

    def load_profiles(self) -> dict[str, tuple[str, dict[str, float]]]:
        return {}

    def reset(self) -> None:
        pass

    def ping(self) -> None:
        pass


TOPICS = {"t.water": Family.WATER, "t.case": Family.CASE}


def _messages() -> list[Message]:
    docs = [
        ("t.water", orjson.dumps(reading())),
        ("t.water", b"{oops"),
        ("t.water", orjson.dumps(reading(value=1e9))),
        ("t.case", orjson.dumps(case())),
    ]
    return [Message(topic, 0, offset, NOW, None, raw) for offset, (topic, raw) in enumerate(docs)]


def _pipeline(sink: MemorySink, registry: CollectorRegistry) -> Pipeline:
    return Pipeline(sink, WorkerMetrics.create(registry), TOPICS, worker_name="test",  # type: ignore[arg-type]
                    clock=lambda: NOW / 1000)  # fmt: skip


def test_batch_is_split_into_tables() -> None:
    sink, registry = MemorySink(), CollectorRegistry()
    validated = asyncio.run(_pipeline(sink, registry).process(_messages()))
    dead = validated.dead
    assert [inv.reason for _, inv in dead] == ["malformed_json", "out_of_range"]
    assert [type(e).__name__ for _, e in validated.ordered] == ["Reading", "CaseReport"]
    assert len(sink.tables["events_raw"]) == 1
    assert len(sink.tables["cases_raw"]) == 1
    assert [row[7] for row in sink.tables["dead_letters"]] == [b"{oops", dead[1][0].value]
    city_rows = [r for r in sink.tables["rollups_1m"] if r[0] == "city"]
    assert sorted((r[2], r[7]) for r in city_rows) == [("case_reports", 1), ("water_level", 1)]
    assert (
        registry.get_sample_value(
            "citybrain_worker_events_invalid_total", {"topic": "t.water", "reason": "out_of_range"}
        )
        == 1
    )


def test_store_failure_is_retried_not_dropped() -> None:
    sink, registry = MemorySink(failures=2), CollectorRegistry()
    asyncio.run(_pipeline(sink, registry).process(_messages()))
    assert len(sink.tables["events_raw"]) == 1
    assert len([r for r in sink.tables["rollups_1m"] if r[0] == "city"]) == 2
    # roll-ups are written first (see Pipeline._store), so they meet the failures
    assert (
        registry.get_sample_value("citybrain_worker_sink_errors_total", {"table": "rollups_1m"})
        == 2
    )


def test_place_names_load_even_when_nothing_was_ingested() -> None:
    """The worker holding the alerting partition may get no ingest partition at all."""
    named = Registry(REGISTRY.sources, REGISTRY.grids, {"D1": ("Riverside", "滨江区")})

    class NamedSink(MemorySink):
        loads = 0

        def load_registry(self) -> Registry:
            NamedSink.loads += 1
            return named

    pipeline = _pipeline(NamedSink(), CollectorRegistry())
    assert asyncio.run(pipeline.place_names()) == {"D1": ("Riverside", "滨江区")}
    asyncio.run(pipeline.place_names())  # fresh: not loaded again
    assert NamedSink.loads == 1


def test_a_rebalance_mid_batch_leaves_the_batch_to_be_read_again_not_crashed() -> None:
    """The partitions' state is dropped (a rebalance) while the batch's rows are written:
    the batch ends with PartitionsMoved, never a KeyError in the agent, and read again it is
    stored as after a crash at that point."""

    class RebalancingSink(MemorySink):
        pipeline: Pipeline | None = None

        def write_raw(self, rows: Sequence[tuple[object, ...]]) -> int:
            if self.pipeline is not None:
                self.pipeline.forget_partitions()  # the revoke signal, amid the store
                self.pipeline = None
            return super().write_raw(rows)

    sink = RebalancingSink()
    pipeline = _pipeline(sink, CollectorRegistry())
    sink.pipeline = pipeline
    with pytest.raises(PartitionsMoved):
        asyncio.run(pipeline.process(_messages()))
    validated = asyncio.run(pipeline.process(_messages()))  # the new owner reads it again
    assert [type(e).__name__ for _, e in validated.ordered] == ["Reading", "CaseReport"]
    assert len(sink.tables["events_raw"]) == 2  # a re-delivered row: FINAL collapses it
