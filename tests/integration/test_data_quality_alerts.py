"""A broken catalog promise on the real broker and server: a source that goes silent past
its freshness target and allowance is raised by the real worker as exactly one data-quality
alert to its owning department (alone: no incident, no stage), published for that
department's webhook, and cleared when it reports again; a catalog edit of the owner made
with citybrain-catalog while the worker runs names the new department in the next alert."""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from detectors.alerting.promises import quality_key
from detectors.contract.events import Family, Reading, Source
from detectors.contract.wire import encode_reading, key_of
from infra.catalog import CatalogStore
from infra.catalog_cli import run as catalog_cli
from infra.clickhouse import connect
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import all_family_topics
from sensors_sim.city import build_city
from sensors_sim.reference import write_reference
from streams.notify_config import parse_config, route
from tests.integration.harness import rows, settled, wait_for, worker_process
from tests.integration.test_silences import published

pytestmark = pytest.mark.integration
MIN = 60_000
DESKS = parse_config({"webhooks": [
    {"name": "water-desk", "url": "http://127.0.0.1:9/w", "departments": ["water"]},
    {"name": "municipal-desk", "url": "http://127.0.0.1:9/m", "departments": ["municipal"]},
]}, {})  # fmt: skip


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def _catalog(settings: CommonSettings, *argv: str) -> None:
    store = CatalogStore(lambda: connect(settings), settings.clickhouse_database)
    out, err = io.StringIO(), io.StringIO()
    assert catalog_cli(["--author", "test", *argv], store, out, err) == 0, err.getvalue()


def _send(settings: CommonSettings, sources: list[Source], minutes: range, base: int) -> None:
    """One reading of every metric of each source at the start of each minute."""
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    topics = all_family_topics(settings.kafka_topic_prefix)
    for minute in minutes:
        for source in sources:
            for metric in sorted(source.metrics):
                reading = Reading(str(uuid.uuid4()), base + minute * MIN, source.family,
                                  source.source_id, metric, 1.0, source.location)  # fmt: skip
                producer.send(topics[source.family], key=key_of(reading),
                              value=encode_reading(reading))  # fmt: skip
    producer.flush()
    producer.close()


def _trail(settings: CommonSettings, source_id: str) -> list[tuple[Any, ...]]:
    key = quality_key(source_id)
    sql = "SELECT kind, ts_ms, category, incident_id, notify, evidence FROM alert_events FINAL"
    return rows(settings, f"{sql} WHERE key = '{key}' ORDER BY ts_ms, kind")


def _raised(settings: CommonSettings, source_id: str) -> list[dict[str, Any]]:
    """The 'raised' records of the source's quality alerts on the alerts topic."""
    key = quality_key(source_id)
    return [r for r in published(settings) if r["key"] == key and r["kind"] == "raised"]


def test_a_silent_source_raises_one_quality_alert_to_its_owner_and_clears(
    namespace: CommonSettings,
) -> None:
    base = int(time.time() * 1000) // MIN * MIN - 60 * MIN
    city = build_city(seed=8)
    write_reference(namespace, city)
    silent = next(s for s in city.sources if s.family is Family.WATER)
    ticker = next(s for s in city.sources if s.family is Family.WATER and s is not silent)
    # stale after 2 min of nothing, tolerated 3 min more; completeness not promised
    _catalog(namespace, "set", silent.source_id, "--freshness", "2m", "--allowance", "3m",
             "--completeness", "0")  # fmt: skip
    _catalog(namespace, "set", ticker.source_id, "--completeness", "0")
    worker = worker_process(namespace, "quality", CITYBRAIN_WORKER_REGISTRY_REFRESH_S="2")
    worker.start()
    try:
        # both report at minutes 0-5, then only the ticker (its readings move event time)
        _send(namespace, [silent, ticker], range(6), base)
        _send(namespace, [ticker], range(6, 16), base)
        wait_for(lambda: bool(_trail(namespace, silent.source_id)), 120,
                 "the data-quality alert", worker)  # fmt: skip
        settled(namespace, worker, 120)
        [raised] = _trail(namespace, silent.source_id)
        # last reading 5:00, stale from 7:00, over the 3 min allowance at the 11:00 tick
        assert raised[:5] == ("raised", base + 11 * MIN, "quality", "", 1)
        evidence = orjson.loads(raised[5])
        assert (evidence["department"], evidence["breaches"]) == ("water", "stale")
        assert evidence["breach_since_ms"] == base + 7 * MIN
        assert rows(namespace, "SELECT count() FROM alert_events FINAL "
                               "WHERE kind = 'incident_opened'") == [(0,)]  # fmt: skip
        assert rows(namespace, "SELECT count() FROM stage_changes FINAL "
                               "WHERE reason LIKE '%data_quality%'") == [(0,)]  # fmt: skip
        # published for the notifier: only the owner's desk takes it
        [record] = _raised(namespace, silent.source_id)
        assert [hook.name for hook in route(DESKS, record)] == ["water-desk"]

        # the owner changes while the worker runs: it reloads the catalog
        edit_s = time.time()
        _catalog(namespace, "set", silent.source_id, "--owner", "municipal")
        version = int(edit_s * 1000)
        wait_for(lambda: _loaded_version(worker) >= version, 60, "the catalog edit", worker)

        # it reports again: kept at the 17, 18 and 19 ticks, cleared at the third
        _send(namespace, [silent, ticker], range(16, 20), base)
        _send(namespace, [ticker], range(20, 21), base)
        wait_for(lambda: len(_trail(namespace, silent.source_id)) >= 2, 120, "the clear", worker)
        # silent again from 19:00: stale from 21:00, a new alert at the 25:00 tick
        _send(namespace, [ticker], range(21, 27), base)
        wait_for(lambda: len(_trail(namespace, silent.source_id)) >= 3, 120,
                 "the second alert", worker)  # fmt: skip
        settled(namespace, worker, 120)
        trail = _trail(namespace, silent.source_id)
        assert [(kind, ts) for kind, ts, *_ in trail] == [
            ("raised", base + 11 * MIN), ("cleared", base + 19 * MIN), ("raised", base + 25 * MIN)
        ]  # fmt: skip
        assert orjson.loads(trail[2][5])["department"] == "municipal"
        again = sorted(_raised(namespace, silent.source_id), key=lambda r: r["ts"])
        assert [r["evidence"]["department"] for r in again] == ["water", "municipal"]
        assert [hook.name for hook in route(DESKS, again[-1])] == ["municipal-desk"]
    finally:
        worker.stop()


def _loaded_version(worker: Any) -> int:
    """The newest catalog version the worker says it judges by (0: none yet)."""
    found = [line for line in worker.log_tail(400).splitlines() if "catalog in force" in line]
    return int(found[-1].rsplit(" ", 1)[-1]) if found else 0
