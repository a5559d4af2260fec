"""The whole path on the real broker and server: simulator -> Kafka -> worker -> ClickHouse.

Counts are exact: every valid event once in the raw tables, every malformed one once in
the dead-letter table with its reason, roll-ups summing to the raw count at every level;
and the same after the worker is SIGKILLed mid-run and restarted.
"""

from __future__ import annotations

from typing import Any

import pytest

from detectors.contract.dead_letter import message_key
from infra.kafka import latest_by_key, topic_config
from infra.settings import CommonSettings
from infra.topics import alerting_topic, dead_letter_topic
from tests.integration.harness import (
    WorkerProcess,
    process_env,
    rollup_totals,
    rows,
    run_sim,
    scalar,
    settled,
    stored_counts,
    topic_messages,
    wait_for,
    worker_process,
)

pytestmark = pytest.mark.integration


def _assert_exact(settings: CommonSettings, summary: dict[str, object]) -> None:
    counts = stored_counts(settings)
    assert counts["raw"] + counts["cases"] == summary["valid"]
    assert counts["dead"] == summary["malformed"]
    by_reason = dict(
        rows(settings, "SELECT reason, count() FROM dead_letters FINAL GROUP BY reason")
    )
    assert by_reason == summary["by_reason"]
    assert scalar(settings, "SELECT countIf(detail = '') FROM dead_letters FINAL") == 0
    assert rollup_totals(settings) == {
        level: summary["valid"] for level in ("grid", "street", "district", "city")
    }


def _assert_dead_letter_topic_exact(settings: CommonSettings, summary: dict[str, object]) -> int:
    """The dead-letter topic read by its rule (the last message of each key) holds exactly
    the table's dead letters, and the broker compacts it to that; returns how many
    messages it carries beyond one per key (sent again after the kill)."""
    topic = dead_letter_topic(settings.kafka_topic_prefix)
    assert topic_config(settings, topic, "cleanup.policy") == "compact"
    table = {
        message_key(str(t), int(p), int(o))
        for t, p, o in rows(settings, "SELECT src_topic, src_partition, src_offset "
                                      "FROM dead_letters FINAL")
    }  # fmt: skip
    assert len(table) == summary["malformed"]
    # The worker stores a batch's dead letters, then sends them: under load the last
    # batch's sends can land after its rows, so wait for the topic as for the table.
    wait_for(lambda: table <= set(latest_by_key(settings, topic)), 60,
             "every stored dead letter on the dead-letter topic")  # fmt: skip
    latest = latest_by_key(settings, topic)
    assert set(latest) == table
    return topic_messages(settings, topic) - len(latest)


def _all_stored(settings: CommonSettings, total: int) -> bool:
    counts = stored_counts(settings)
    return counts["raw"] + counts["cases"] + counts["dead"] >= total


def _store_with_malformed(namespace: CommonSettings, worker: WorkerProcess) -> dict[str, Any]:
    """4000 events, about 5% malformed, sent as fast as they go; returns the simulator's
    summary once every one is stored and rolled up."""
    args = ("--seed", "11", "--rate", "2000", "--count", "4000", "--malformed", "0.05")
    summary: dict[str, Any] = run_sim(process_env(namespace), *args, "--max-speed")
    assert summary["sent"] == 4000 and summary["send_errors"] == 0
    assert 150 <= summary["malformed"] <= 250  # about 5%
    wait_for(
        lambda: (
            _all_stored(namespace, 4000)
            and sum(rollup_totals(namespace).values()) == 4 * summary["valid"]
        ),
        120,
        "all 4000 events stored",
        worker,
    )
    return summary


def test_exact_counts_with_malformed_messages(namespace: CommonSettings) -> None:
    worker = worker_process(namespace, "exact")
    worker.start()
    try:
        _assert_exact(namespace, _store_with_malformed(namespace, worker))
        assert worker.alive(), "bad input must not stop the worker"
    finally:
        worker.stop()


def test_with_detection_off_the_worker_stores_the_same_and_sends_no_decision(
    namespace: CommonSettings,
) -> None:
    worker = worker_process(namespace, "storing", CITYBRAIN_WORKER_DETECTION="off")
    worker.start()
    try:
        summary = _store_with_malformed(namespace, worker)
        settled(namespace, worker, 60)  # every input committed: anything sent was sent
        _assert_exact(namespace, summary)
        prefix = namespace.kafka_topic_prefix
        assert topic_messages(namespace, alerting_topic(prefix)) == 0  # no decision, no tick
        # nor any detector state (with detection on, every checkpoint writes its tick)
        assert topic_messages(namespace, f"{prefix}-worker-detector_state-changelog") == 0
        assert scalar(namespace, "SELECT count() FROM alert_events") == 0
        assert "detection off" in worker.log_path.read_text()
    finally:
        worker.stop()


def test_sigkill_mid_run_loses_nothing_and_doubles_nothing(namespace: CommonSettings) -> None:
    # A slow commit interval leaves written-but-uncommitted batches at the kill, so the
    # restart re-delivers events that are already stored.
    first = worker_process(namespace, "first", CITYBRAIN_WORKER_COMMIT_INTERVAL_S="5")
    first.start()
    total = 12000
    sim = run_sim(
        process_env(namespace),
        "--seed",
        "12",
        "--rate",
        "1500",
        "--count",
        str(total),
        "--malformed",
        "0.05",
        background=True,
    )
    try:
        wait_for(
            lambda: stored_counts(namespace)["raw"] > total // 4,
            120,
            "a quarter of the events stored before the kill",
            first,
        )
        first.kill()
        second = worker_process(namespace, "second")
        second.start()
        out, err = sim.communicate(timeout=300)
        assert sim.returncode == 0, err.decode(errors="replace")[-3000:]
        import json

        summary = json.loads(out.decode().strip().splitlines()[-1])
        assert summary["sent"] == total
        wait_for(
            lambda: (
                _all_stored(namespace, total)
                and sum(rollup_totals(namespace).values()) == 4 * summary["valid"]
            ),
            180,
            f"all {total} events stored after the restart",
            second,
        )
        _assert_exact(namespace, summary)
        again = _assert_dead_letter_topic_exact(namespace, summary)
        print(f"dead letters written twice across the kill (one each by the rule): {again}")
        # The restart really re-delivered stored events (else this test proves nothing).
        unmerged = scalar(namespace, "SELECT count() FROM events_raw")
        redelivered_log = "re-delivered" in second.log_tail(400)
        assert unmerged > stored_counts(namespace)["raw"] or redelivered_log
        second.stop()
    finally:
        first.stop()
        if sim.poll() is None:
            sim.kill()
