"""The indicators on the real broker and server: a small city (two districts, three grid
cells, six sources) gets a few sensor readings, two dead letters, two cases with their
steps and an evaluation, and an alert that an operator acknowledges; once a reading after
the window moves event time past it, the real worker writes that minute's indicators of a
grid cell, its street, district and the city, whose values are computed here by hand."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from detectors.alerting.types import Decision
from detectors.contract.actions import Actor, build_action, build_case_action
from detectors.contract.events import CaseReport, Family, Reading, Source
from detectors.contract.indicators import components_of
from detectors.contract.places import Location
from detectors.contract.tables import AREAS, ROLLUPS_1M, SOURCE_PROFILES, SOURCES, source_row
from detectors.contract.wire import encode_case, encode_reading, key_of
from infra.catalog import CatalogStore, write_defaults
from infra.clickhouse import connect, ensure_schema
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import alert_actions_topic, alerting_topic, all_family_topics
from streams.alerting import decision_to_json
from tests.integration.harness import rows, settled, wait_for, worker_process

pytestmark = pytest.mark.integration

M = 60_000
G01 = Location("CB", "D1", "D1-S1", "D1-S1-G01")
G02 = Location("CB", "D1", "D1-S1", "D1-S1-G02")
G21 = Location("CB", "D2", "D2-S1", "D2-S1-G01")
SOURCES_OF_CITY = (
    Source("ENV-1", Family.ENVIRONMENT, "air", frozenset({"pm25", "noise"}), G01, 0, 0, 60),
    Source("WAT-1", Family.WATER, "river", frozenset({"water_level"}), G01, 0, 0, 60),
    Source("REP-1", Family.CASE, "hotline", frozenset({"case_reports"}), G01, 0, 0, 60),
    Source("ENV-2", Family.ENVIRONMENT, "air", frozenset({"pm25"}), G02, 0, 0, 60),
    Source("TRF-1", Family.TRAFFIC, "loop", frozenset({"speed", "occupancy", "flow"}), G02,
           0, 0, 60),
    Source("PWR-1", Family.POWER, "feeder", frozenset({"load"}), G21, 0, 0, 60),
)  # fmt: skip


@pytest.fixture
def namespace(isolated: CommonSettings) -> Iterator[CommonSettings]:
    ensure_topics(isolated)
    yield isolated


def _reference(settings: CommonSettings, hour_start_s: int) -> None:
    """The small city, its catalog, profiles, and last day's flow and load at this hour."""
    ensure_schema(settings)
    now = int(time.time())
    areas = [("city", "CB", "", "CB", "", "", "City", "市", "[]", 0.0, 0.0, now)]
    for district in ("D1", "D2"):
        areas.append(("district", district, "CB", "CB", district, "", district, district,
                      "[]", 0.0, 0.0, now))  # fmt: skip
    for street in ("D1-S1", "D2-S1"):
        areas.append(("street", street, street[:2], "CB", street[:2], street, street, street,
                      "[]", 0.0, 0.0, now))  # fmt: skip
    for g in (G01, G02, G21):
        areas.append(("grid", g.grid, g.street, "CB", g.district, g.street, g.grid, g.grid,
                      "[]", 0.0, 0.0, now))  # fmt: skip
    yesterday = hour_start_s - 86_400 + 300
    usual = [  # flow 800 veh/h in D1-S1-G02, load 44 % in D2-S1-G01, a day ago
        ("grid", G02.grid, "flow", "traffic", yesterday, "t", 0, 2, 1600.0, 700.0, 900.0, 1),
        ("grid", G21.grid, "load", "power", yesterday, "t", 0, 2, 88.0, 40.0, 48.0, 1),
    ]
    client = connect(settings)
    try:
        client.execute(AREAS.insert_sql(), areas)
        client.execute(SOURCES.insert_sql(), [source_row(s, now) for s in SOURCES_OF_CITY])
        client.execute(SOURCE_PROFILES.insert_sql(), [
            ("WAT-1", "", orjson.dumps({"warning": 4.0}).decode(), now),
            ("ENV-1", "", orjson.dumps({"noise_day": 45.0, "noise_night": 45.0}).decode(), now),
        ])  # fmt: skip
        client.execute(ROLLUPS_1M.insert_sql(), usual)
    finally:
        client.disconnect()
    store = CatalogStore(lambda: connect(settings), settings.clickhouse_database)
    write_defaults(store, SOURCES_OF_CITY, settings.kafka_topic_prefix, now * 1000)


def _reading(source_id: str, metric: str, ts_ms: int, value: float) -> Reading:
    source = next(s for s in SOURCES_OF_CITY if s.source_id == source_id)
    return Reading(str(uuid.uuid4()), ts_ms, source.family, source_id, metric, value,
                   source.location)  # fmt: skip


def _case(case_id: str, status: str, ts_ms: int) -> CaseReport:
    return CaseReport(str(uuid.uuid4()), ts_ms, case_id, "garbage", status, "REP-1", G01,
                      0.0, 0.0, "垃圾", "")  # fmt: skip


def _send(settings: CommonSettings, messages: list[tuple[str, bytes, bytes]]) -> None:
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for topic, key, value in messages:
        producer.send(topic, key=key, value=value)
    producer.flush()
    producer.close()


def _events(settings: CommonSettings, events: list[Reading | CaseReport]) -> None:
    topics = all_family_topics(settings.kafka_topic_prefix)
    _send(settings, [
        (topics[e.family if isinstance(e, Reading) else Family.CASE], key_of(e),
         encode_reading(e) if isinstance(e, Reading) else encode_case(e))
        for e in sorted(events, key=lambda e: e.ts_ms)
    ])  # fmt: skip


def _indicators(settings: CommonSettings, window_s: int) -> dict[tuple[str, str], Any]:
    found = rows(settings, "SELECT code, indicator, score, components FROM indicators_1m "
                           f"FINAL WHERE window_start = toDateTime({window_s})")  # fmt: skip
    return {(code, ind): (score, {c.name: (c.value, c.score) for c in components_of(parts)})
            for code, ind, score, parts in found}  # fmt: skip


def test_the_worker_writes_the_minutes_indicators_of_a_cell_and_its_areas(
    namespace: CommonSettings,
) -> None:
    now_min = int(time.time() * 1000) // M * M
    end = now_min + 4 * M  # the window [end - 1 min, end): in the near future, so that the
    start = end - M  # acknowledgement, the evaluation and the dead letters fall before it
    _reference(namespace, start // 3_600_000 * 3600)
    topics = all_family_topics(namespace.kafka_topic_prefix)
    worker = worker_process(namespace, "indicators")
    worker.start()
    try:
        c1, c2 = f"CS-1-{uuid.uuid4().hex[:6]}", f"CS-2-{uuid.uuid4().hex[:6]}"
        _events(namespace, [
            # C1: dispatched 40 min after filing (limit 30: late, and alerted at 31 min)
            _case(c1, "filed", end - 100 * M), _case(c1, "dispatched", end - 60 * M),
            _case(c1, "accepted", end - 50 * M), _case(c1, "handled", end - 40 * M),
            _case(c1, "verified", end - 30 * M), _case(c1, "closed", end - 20 * M),
            _case(c2, "filed", end - 10 * M),  # the same category in the same cell: a repeat
            _reading("ENV-2", "pm25", end - 10 * M, 30.0),  # 10 min old at the end: stale
            _reading("TRF-1", "speed", start - 40_000, 40.0),
            _reading("TRF-1", "occupancy", start - 40_000, 20.0),
            _reading("TRF-1", "flow", start - 40_000, 400.0),
            _reading("ENV-1", "pm25", start + 10_000, 20.0),
            _reading("ENV-1", "noise", start + 10_000, 48.0),
            _reading("TRF-1", "speed", start + 20_000, 15.0),  # a congested minute
            _reading("TRF-1", "occupancy", start + 20_000, 30.0),
            _reading("TRF-1", "flow", start + 20_000, 600.0),
            _reading("WAT-1", "water_level", start + 30_000, 3.0),
            _reading("PWR-1", "load", start + 30_000, 55.0),
            _reading("ENV-1", "pm25", start + 40_000, 40.0),
        ])  # fmt: skip
        bad = orjson.dumps(
            {
                "event_id": "x",
                "schema_version": 1,
                "ts": start,
                "family": "environment",
                "source_id": "ENV-1",
                "metric": "pm25",
                "value": "high",
                **{k: getattr(G01, k) for k in ("city", "district", "street", "grid")},
            }
        )
        env = topics[Family.ENVIRONMENT]
        _send(namespace, [(env, b"ENV-1", bad), (env, b"?", b"not json")])  # fmt: skip
        # two alerts in the cell: one raised 8 min before the end and acknowledged now (in
        # time), one raised 40 min before it and never acknowledged (grid tier: 30 min)
        decisions = [
            Decision(f"{source}:water_level:condition", "condition", source, "water_level",
                     G01, "static", 0.5, 4.6, end - before * M, threshold=4.0)
            for source, before in (("EXT-8", 40), ("EXT-9", 8))
        ]  # fmt: skip
        _send(namespace, [(alerting_topic(namespace.kafka_topic_prefix), b"city",
                           decision_to_json(d)) for d in decisions])  # fmt: skip
        alert_ids: list[str] = []

        def raised() -> bool:
            alert_ids[:] = [r[0] for r in rows(namespace, "SELECT alert_id FROM alerts_current "
                                               "WHERE source_id = 'EXT-9'")]  # fmt: skip
            return bool(alert_ids)

        wait_for(raised, 120, "the alert", worker)
        closed = f"SELECT count() FROM cases_raw WHERE case_id = '{c1}' AND status = 'closed'"
        wait_for(lambda: rows(namespace, closed)[0][0] > 0, 60, "case C1 stored", worker)
        actor = Actor("li", "city_commander", "")
        _send(namespace, [
            (alert_actions_topic(namespace.kafka_topic_prefix), alert_ids[0].encode(),
             orjson.dumps(build_action("acknowledge", alert_ids[0], actor,
                                       now_ms=int(time.time() * 1000),
                                       action_id=str(uuid.uuid4())))),
            (alert_actions_topic(namespace.kafka_topic_prefix), c1.encode(),
             orjson.dumps(build_case_action("evaluate", c1, actor, score=4,
                                            now_ms=int(time.time() * 1000),
                                            action_id=str(uuid.uuid4())))),
        ])  # fmt: skip
        acked = ("SELECT count() FROM alert_events WHERE kind = 'acknowledged' "
                 f"AND alert_id = '{alert_ids[0]}'")  # fmt: skip
        evaluated = f"SELECT count() FROM case_steps WHERE case_id = '{c1}' AND score = 4"
        wait_for(lambda: rows(namespace, acked)[0][0] > 0, 60, "the acknowledgement", worker)
        wait_for(lambda: rows(namespace, evaluated)[0][0] > 0, 60, "the evaluation", worker)
        assert int(time.time() * 1000) < end, "too slow: the actions fell after the window"
        # a reading after the window: event time passes its end, the minute is computed
        _events(namespace, [_reading("ENV-2", "pm25", end + 1000, 30.0)])
        wait_for(lambda: len(_indicators(namespace, start // 1000)) == 5 * 8, 120,
                 "the minute's indicators of every area", worker)  # fmt: skip
        settled(namespace, worker, 120)
        found = _indicators(namespace, start // 1000)
    finally:
        worker.stop()

    def check(code: str, indicator: str, score: float | None, **parts: Any) -> None:
        got_score, got = found[code, indicator]
        assert {k: got[k] for k in parts} == parts, (code, indicator)
        assert got_score == score, (code, indicator, got)

    # The cell D1-S1-G01: ENV-1, WAT-1 (both fresh) and the reporter REP-1.
    # The city's data began 10 minutes before the end (ENV-2's reading), so 10 of the 15
    # minutes are expected: complete: 3 + 1 readings of (2 x 15 + 1 x 15) x 10 / 15 = 30
    # expected = 13.333 %; dead letters: 1 of
    # ENV-1's 3 readings + WAT-1's 1 + REP-1's 2 (C2 filed, the evaluation) + 1 = 14.286 %
    # (over 5 %: 0); (100 x 2 + 13.333 x 2 + 0 + 100) / 6 = 54.444
    check("D1-S1-G01", "data", 54.444, fresh=(100.0, 100.0), complete=(13.333, 13.333),
          dead_letter=(14.286, 0.0), shared=(100.0, 100.0))  # fmt: skip
    # open in the day: C1 (late dispatch) and C2: 50 %; dispatch 40 min against 30 (100 to
    # 15, 0 at 60): 44.444; closing 80 min against 420: 100; alerts: the acknowledged one in
    # time, the other never: 50 %
    # (50 x 2 + 44.444 + 100 + 50 x 2) / 6 = 57.407
    check("D1-S1-G01", "governance", 57.407, on_time=(50.0, 50.0),
          dispatch_median=(40.0, 44.444), close_median=(80.0, 100.0),
          ack_on_time=(50.0, 50.0))  # fmt: skip
    # satisfaction 4: 75; C2 repeats C1: 50 %; backlog C2 in 1 cell: 80; (150 + 50 + 80) / 4
    check("D1-S1-G01", "service", 70.0, satisfaction=(4.0, 75.0), repeat=(50.0, 50.0),
          backlog=(1.0, 80.0))  # fmt: skip
    # PM2.5 mean 30: IAQI 42.857, score 85.714; noise 48 against 45: 3 dB over, 70; water 3 m
    # under 4: 100 %; (85.714 x 2 + 70 + 100) / 4 = 85.357
    check("D1-S1-G01", "environment", 85.357, aqi=(42.857, 85.714), noise=(3.0, 70.0),
          water=(100.0, 100.0))  # fmt: skip
    check("D1-S1-G01", "economy", None, traffic_flow=(None, None), congestion=(None, None))
    # The street D1-S1 adds D1-S1-G02: ENV-2 (stale, 1 reading) and TRF-1 (fresh, 6).
    # fresh 3 of 4; complete 11 of 105 x 10 / 15 = 15.714 %; dead 1 of 14 = 7.143 %: 0
    # (75 x 2 + 15.714 x 2 + 0 + 100) / 6 = 46.905
    check("D1-S1", "data", 46.905, fresh=(75.0, 75.0), complete=(15.714, 15.714),
          dead_letter=(7.143, 0.0), shared=(100.0, 100.0))  # fmt: skip
    # flow 600 against 800: 75; congested 1 of TRF-1's 2 minutes: 50; no load
    check("D1-S1", "economy", 62.5, traffic_flow=(75.0, 75.0), power_load=(None, None),
          congestion=(50.0, 50.0))  # fmt: skip
    # backlog: C2 in the street's 2 cells: 0.5, 90; (150 + 50 + 90) / 4 = 72.5
    check("D1-S1", "service", 72.5, satisfaction=(4.0, 75.0), backlog=(0.5, 90.0))
    check("D1", "governance", 57.407, ack_on_time=(50.0, 50.0))
    # The city adds D2's PWR-1 (fresh, 1 reading) and the unplaceable dead letter:
    # fresh 4 of 5; complete 12 of 120 x 10 / 15; dead 2 of 16 = 12.5 %: 0;
    # (160 + 30 + 100) / 6 = 48.333
    check("CB", "data", 48.333, fresh=(80.0, 80.0), complete=(15.0, 15.0),
          dead_letter=(12.5, 0.0), shared=(100.0, 100.0))  # fmt: skip
    # load 55 against 44: 125 %, 25 % off: (50 - 25) / 40 = 62.5; (75 + 62.5 + 50) / 3
    check("CB", "economy", 62.5, traffic_flow=(75.0, 75.0), power_load=(125.0, 62.5),
          congestion=(50.0, 50.0))  # fmt: skip
    # backlog: 1 open case in 3 cells: 0.333, 93.333; (150 + 50 + 93.333) / 4 = 73.333
    check("CB", "service", 73.333, backlog=(0.333, 93.333))
