"""Replays on the real broker and server, through the real worker.

A namespace of the test's own plays the live pipeline: its worker stores a simulated
recording (with malformed messages and a PM2.5 spike that a limit should alert on). Then:
a replay leaves that live namespace untouched while it keeps working; the same range
replayed at max speed and paced gives the same rows and alerts; a replay from Kafka with
filters is listed, keeps its worker if asked, and is deleted with everything it wrote.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from kafka import KafkaProducer

from detectors.contract.events import SCHEMA_VERSION
from infra.settings import CommonSettings
from replay.namespace import namespace
from tests.integration.harness import (
    ROOT,
    WorkerProcess,
    process_env,
    rows,
    run_sim,
    scalar,
    stored_counts,
    wait_for,
)
from tests.integration.test_replay_support import (
    canonical,
    databases,
    end_offsets,
    forget,
    iso,
    live_namespace,
    replay_cli,
    run_json,
    topics,
)

pytestmark = pytest.mark.integration
SPIKE_SOURCES = 2
# A small city (50 sensor streams): at one event a second every stream reports about once
# a minute, as real sensors do, so the detectors see live-like series, not silence.
CITY = ["--seed", "21", "--districts", "2", "--streets", "2", "--grid-rows", "1",
        "--grid-cols", "2", "--sensors-per-cell", "1.5"]  # fmt: skip


@dataclass(frozen=True)
class Recorded:
    """The live namespace, its running worker, and what was recorded in it."""

    live: CommonSettings
    worker: WorkerProcess
    sim: dict[str, Any]
    spike: int
    from_ms: int  # event time of the first and (exclusive) after the last event
    to_ms: int
    wall_from_ms: int  # record time around the recording (the Kafka source's range)
    wall_to_ms: int
    tag: str

    @property
    def messages(self) -> int:
        return int(self.sim["sent"]) + self.spike

    @property
    def valid(self) -> int:
        return int(self.sim["valid"]) + self.spike

    def range_args(self) -> list[str]:
        return ["--from", iso(self.from_ms), "--to", iso(self.to_ms)]


def _spike(live: CommonSettings, start_ms: int, end_ms: int) -> int:
    """PM2.5 far above the 75 ug/m3 band, every minute, at two air stations: what a limit
    rule must alert on. Returns the number of readings produced."""
    stations = rows(live, "SELECT source_id, city, district, street, grid FROM sources FINAL "
                          "WHERE kind = 'air_station' AND has(metrics, 'pm25') "
                          f"ORDER BY source_id LIMIT {SPIKE_SOURCES}")  # fmt: skip
    producer = KafkaProducer(bootstrap_servers=live.kafka_bootstrap, acks="all")
    sent = 0
    for source_id, city, district, street, grid in stations:
        for n, ts in enumerate(range(start_ms, end_ms, 60_000)):
            doc = {"event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"spike/{source_id}/{ts}")),
                   "schema_version": SCHEMA_VERSION, "ts": ts, "family": "environment",
                   "source_id": source_id, "metric": "pm25", "value": 30.0 if n < 5 else 180.0,
                   "city": city, "district": district, "street": street, "grid": grid}  # fmt: skip
            producer.send(f"{live.kafka_topic_prefix}.environment", orjson.dumps(doc),
                          key=source_id.encode())  # fmt: skip
            sent += 1
    producer.flush()
    producer.close()
    return sent


@pytest.fixture(scope="module")
def recorded(services: CommonSettings) -> Iterator[Recorded]:
    with live_namespace(services) as live:
        tag = live.kafka_topic_prefix.rsplit("-", 1)[1][:6]
        log = ROOT / ".local" / "test-logs" / f"{live.kafka_topic_prefix}-live.log"
        worker = WorkerProcess(process_env(live), log)
        worker.start()
        try:
            wall_from = int(time.time() * 1000) - 1
            # 5 % malformed (about 150): the filtered replay needs some from D1's water and
            # power streams, and one recording at 2 % (about 60) had none of them
            sim = run_sim(process_env(live), *CITY, "--rate", "1", "--count", "3000",
                          "--malformed", "0.05", "--max-speed")  # fmt: skip
            spike = _spike(live, wall_from - 3000 * 1000, wall_from)
            wall_to = int(time.time() * 1000) + 1
            total = sim["sent"] + spike
            wait_for(lambda: sum(stored_counts(live).values()) >= total, 120,
                     "the recording stored by the live worker", worker.log_tail)  # fmt: skip
            first, last = rows(
                live,
                "SELECT min(t), max(t) FROM (SELECT ts_ms AS t FROM "
                "events_raw UNION ALL SELECT ts_ms AS t FROM cases_raw)",
            )[0]
            yield Recorded(live, worker, sim, spike, first, last + 1, wall_from, wall_to, tag)
        finally:
            worker.stop()


def _live_rows(r: Recorded) -> dict[str, Any]:
    counts = stored_counts(r.live)
    counts["replays"] = scalar(r.live, "SELECT count() FROM replays FINAL")
    return counts


def test_a_replay_leaves_the_live_namespace_untouched(recorded: Recorded) -> None:
    r, name = recorded, f"iso_{recorded.tag}"
    before_dbs, before_topics = databases(r.live), topics(r.live)
    offsets_before = end_offsets(r.live, r.live.kafka_topic_prefix)
    contents_before = _recorded_contents(r)
    assert _live_rows(r) == {"raw": r.valid - r.sim["by_family"]["case"],
                             "cases": r.sim["by_family"]["case"],
                             "dead": r.sim["malformed"], "replays": 0}  # fmt: skip
    # The live pipeline keeps working while the replay runs: a simulator feeds its worker.
    live_sim = run_sim(process_env(r.live), *CITY, "--rate", "400", "--count", "3000",
                       "--no-reference", background=True)  # fmt: skip
    try:
        summary = run_json(r.live, "--name", name, *r.range_args())
        out, err = live_sim.communicate(timeout=120)
        assert live_sim.returncode == 0, err.decode()[-2000:]
        sent = orjson.loads(out.decode().strip().splitlines()[-1])
        # Live: exactly the recording plus what the live simulator sent, nothing of the replay.
        total = r.messages + sent["sent"]
        wait_for(lambda: sum(stored_counts(r.live).values()) >= total, 120,
                 "the live simulator's events in the live tables", r.worker.log_tail)  # fmt: skip
        assert _live_rows(r) == {
            "raw": r.valid + sent["valid"] - r.sim["by_family"]["case"]
            - sent["by_family"]["case"],
            "cases": r.sim["by_family"]["case"] + sent["by_family"]["case"],
            "dead": r.sim["malformed"] + sent["malformed"], "replays": 1,
        }  # fmt: skip
        assert _recorded_contents(r) == contents_before
        offsets_after = end_offsets(r.live, r.live.kafka_topic_prefix)
        for topic, before in offsets_before.items():
            family = topic.rsplit(".", 1)[1]
            assert offsets_after[topic] == before + sent["by_family"].get(family, 0), topic
        # The replay: exactly the recording, in its own database and topics only.
        ns = namespace(name)
        assert summary["events"] == r.valid and summary["dead_letters"] == 0
        assert canonical(r.live, ns.database)["events_raw"] == _live_raw(r)
        new_dbs = databases(r.live) - before_dbs
        assert ns.database in new_dbs
        # Nothing else of this run's making (other test runs may share the server).
        assert not {d for d in new_dbs if r.tag in d and d != ns.database}
        new_topics = topics(r.live) - before_topics
        assert {t for t in new_topics if t.startswith("replay-") and r.tag in t} == {
            t for t in new_topics if ns.owns_topic(t)
        }
        assert any(ns.owns_topic(t) for t in new_topics)
        assert not {t for t in new_topics if t.startswith(r.live.kafka_topic_prefix)}
        _no_recorded_event_elsewhere(r, ns.database)
    finally:
        if live_sim.poll() is None:
            live_sim.kill()
        forget(r.live, name)


def _recorded_contents(r: Recorded) -> dict[str, list[tuple[Any, ...]]]:
    """The live tables' rows of the recorded range (the live simulator's come later)."""
    everything = canonical(r.live, r.live.clickhouse_database)
    return {
        "events_raw": _live_raw(r),
        "cases_raw": [row for row in everything["cases_raw"] if row[1] < r.to_ms],
        "rollups_1m": [row for row in everything["rollups_1m"] if row[4] * 1000 < r.to_ms - 60_000],
        "dead_letters": [row for row in everything["dead_letters"]
                         if row[3] <= r.wall_to_ms // 1000],
    }  # fmt: skip


def _live_raw(r: Recorded) -> list[tuple[Any, ...]]:
    everything = canonical(r.live, r.live.clickhouse_database)["events_raw"]
    return [row for row in everything if r.from_ms <= row[1] < r.to_ms]


def _no_recorded_event_elsewhere(r: Recorded, replay_db: str) -> None:
    """No other database's events_raw holds a recorded event id (other tests' databases may
    come and go meanwhile: those are skipped)."""
    live_db = r.live.clickhouse_database
    others = rows(r.live, "SELECT database FROM system.tables WHERE name = 'events_raw' "
                          f"AND database NOT IN ('{live_db}', '{replay_db}')")  # fmt: skip
    for (database,) in others:
        try:
            found = scalar(r.live, f"SELECT count() FROM {database}.events_raw WHERE event_id "
                                   f"IN (SELECT event_id FROM {live_db}.events_raw)")  # fmt: skip
        except Exception:  # dropped by its owner meanwhile
            continue
        assert found == 0, f"{database} holds events of the recording"


@dataclass(frozen=True)
class TwoSpeeds:
    """The recording replayed at max speed and paced at 600x: summaries and dumps."""

    fast: dict[str, Any]
    paced: dict[str, Any]
    a: dict[str, list[tuple[Any, ...]]]
    b: dict[str, list[tuple[Any, ...]]]
    compared: str


@pytest.fixture(scope="module")
def two_speeds(recorded: Recorded) -> Iterator[TwoSpeeds]:
    r = recorded
    fast, paced = f"det_max_{r.tag}", f"det_600x_{r.tag}"
    try:
        first = run_json(r.live, "--name", fast, *r.range_args(), "--speed", "max")
        second = run_json(r.live, "--name", paced, *r.range_args(), "--speed", "600")
        a = canonical(r.live, namespace(fast).database)
        b = canonical(r.live, namespace(paced).database)
        compared = replay_cli(r.live, "compare", fast, paced).stdout
        yield TwoSpeeds(first, second, a, b, compared)
    finally:
        forget(r.live, fast, paced)


def test_the_same_range_stores_the_same_rows_at_any_speed(
    recorded: Recorded, two_speeds: TwoSpeeds
) -> None:
    r, t = recorded, two_speeds
    assert t.fast["events"] == t.paced["events"] == r.valid
    # 50 minutes of event time at 600x take 5 s to send; at max speed, far less.
    assert t.paced["produce_seconds"] >= 4.5 > t.fast["produce_seconds"]
    for table in ("events_raw", "cases_raw", "rollups_1m", "dead_letters"):
        assert t.a[table] == t.b[table], table
        assert f"{table}" in t.compared and "DIFFERENT" not in _line(t.compared, table)
    assert t.a["events_raw"] == _live_raw(r)
    assert sum(row[5] for row in t.a["rollups_1m"] if row[0] == "city") == r.valid


def test_the_same_range_raises_the_same_alerts_at_any_speed(two_speeds: TwoSpeeds) -> None:
    """Needs the worker's alerting to run on event time alone (see the README, Replay):
    the spike in the recording raises alerts, and they must not depend on the speed."""
    t = two_speeds
    assert any(row[0] == "raised" for row in t.a["alert_events"]), "the spike raised nothing"
    assert t.a["alert_events"] == t.b["alert_events"]
    assert "DIFFERENT" not in _line(t.compared, "alert_events")


def _line(compared: str, table: str) -> str:
    return next(line for line in compared.splitlines() if line.startswith(table))


def test_a_filtered_kafka_replay_is_listed_kept_running_and_deleted(recorded: Recorded) -> None:
    r, name = recorded, f"kf_{recorded.tag}"
    ns = namespace(name)
    try:
        summary = run_json(r.live, "--name", name, "--source", "kafka", "--districts", "D1",
                           "--families", "water,power,case", "--from", iso(r.wall_from_ms),
                           "--to", iso(r.wall_to_ms), "--keep-running")  # fmt: skip
        pid = summary["worker_pid"]
        assert pid and _alive(pid), "--keep-running leaves the worker running"
        _assert_filtered_copy(r, ns.database)
        listed = replay_cli(r.live, "list", "--json")
        entry = next(orjson.loads(line) for line in listed.stdout.splitlines()
                     if orjson.loads(line)["name"] == name)  # fmt: skip
        assert entry["status"] == "finished" and entry["source"] == "kafka"
        assert entry["districts"] == ["D1"]
        assert entry["families"] == ["water", "power", "case"]
        assert (entry["from_ms"], entry["to_ms"]) == (r.wall_from_ms, r.wall_to_ms)
        assert entry["events"] == summary["events"] and entry["rows"] > summary["events"]
        assert entry["bytes_on_disk"] > 0 and entry["bytes_produced"] > 0
        done = replay_cli(r.live, "delete", name)
        assert done.returncode == 0, done.stderr
        assert "stopped its worker" in done.stdout and not _alive(pid)
        assert ns.database not in databases(r.live)
        assert not [t for t in topics(r.live) if ns.owns_topic(t)]
        assert name not in replay_cli(r.live, "list").stdout
        every = [orjson.loads(line) for line in replay_cli(r.live, "list", "--all", "--json")
                 .stdout.splitlines()]  # fmt: skip
        assert [e["status"] for e in every if e["name"] == name] == ["deleted"]
        # The name is free again: a new run gets past the name check (to "no data").
        again = replay_cli(r.live, "run", "--name", name, "--from", "2001-01-01T00:00",
                           "--to", "2001-01-02T00:00")  # fmt: skip
        assert again.returncode == 2 and "no data in the range" in again.stderr
    finally:
        forget(r.live, name)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _assert_filtered_copy(r: Recorded, database: str) -> None:
    """The replay holds the live topics' water, power and case messages of D1: the valid
    ones as events, the malformed ones as dead letters with their original bytes, just as
    the live worker sorted them."""
    live_db = r.live.clickhouse_database
    # The recording only: the live simulator of another test may have added events since.
    where = f"district = 'D1' AND ts_ms >= {r.from_ms} AND ts_ms < {r.to_ms}"
    live_raw = scalar(r.live, f"SELECT count() FROM {live_db}.events_raw FINAL WHERE {where} "
                              "AND family IN ('water', 'power')")  # fmt: skip
    live_cases = scalar(r.live, f"SELECT count() FROM {live_db}.cases_raw FINAL WHERE {where}")
    dead = rows(r.live, f"SELECT reason, raw FROM {live_db}.dead_letters FINAL "
                        "WHERE family IN ('water', 'power', 'case') AND toUInt32(kafka_ts) "
                        f"BETWEEN {r.wall_from_ms // 1000} AND {r.wall_to_ms // 1000}")  # fmt: skip
    in_d1 = sorted((raw, reason) for reason, raw in dead if _district(raw) == "D1")
    replay_raw = scalar(r.live, f"SELECT count() FROM {database}.events_raw FINAL")
    replay_cases = scalar(r.live, f"SELECT count() FROM {database}.cases_raw FINAL")
    replay_dead = sorted(rows(r.live, f"SELECT raw, reason FROM {database}.dead_letters FINAL"))
    assert replay_cases == live_cases > 0
    assert replay_raw == live_raw > 0
    assert replay_dead == [tuple(x) for x in in_d1] and len(in_d1) > 0


def _district(raw: Any) -> str | None:
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    return doc.get("district") if isinstance(doc, dict) else None


def test_a_replay_whose_worker_fails_is_marked_failed_and_can_be_deleted(
    recorded: Recorded,
) -> None:
    r, name = recorded, f"fail_{recorded.tag}"
    try:
        # A setting the worker refuses: it exits at once, as a broken worker would.
        done = replay_cli(r.live, "run", "--name", name, *r.range_args(),
                          CITYBRAIN_WORKER_BATCH_SIZE="0")  # fmt: skip
        assert done.returncode == 1
        assert "the worker stopped" in done.stderr and "CITYBRAIN_WORKER_BATCH_SIZE" in done.stderr
        listed = [orjson.loads(line) for line in replay_cli(r.live, "list", "--json")
                  .stdout.splitlines()]  # fmt: skip
        entry = next(e for e in listed if e["name"] == name)
        assert entry["status"] == "failed" and "the worker stopped" in entry["message"]
        taken = replay_cli(r.live, "run", "--name", name, *r.range_args())
        assert taken.returncode == 2 and "is taken (failed" in taken.stderr
        assert replay_cli(r.live, "delete", name).returncode == 0
        assert namespace(name).database not in databases(r.live)
    finally:
        forget(r.live, name)
