"""A replay's namespace: one pure function names its database, topics and worker, and the
worker it starts is pointed there and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.kafka import namespace_topics
from replay.namespace import BadName, namespace
from replay.worker import OPEN_TIME_CHECK_S, worker_env


def test_names_derive_from_the_replay_name() -> None:
    ns = namespace("fl_2")
    assert (ns.database, ns.topic_prefix, ns.app_id) == (
        "replay_fl_2",
        "replay-fl_2",
        "replay-fl_2-worker",
    )


def test_a_replay_owns_its_topics_and_no_other() -> None:
    ns = namespace("fl")
    assert all(ns.owns_topic(t) for t in namespace_topics(ns.topic_prefix))
    assert ns.owns_topic("replay-fl-worker-__assignor-__leader")
    for foreign in ("citybrain.water", "replay-fl_2.water", "replay-flood.water",
                    "replay-fl_2-worker-__assignor-__leader", "replay-fl"):  # fmt: skip
        assert not ns.owns_topic(foreign), foreign


@pytest.mark.parametrize("name", ["", "A", "a-b", "a.b", "a b", "x" * 41, "é"])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(BadName):
        namespace(name)


def test_the_worker_env_points_only_into_the_replay_namespace() -> None:
    base = {"CITYBRAIN_CLICKHOUSE_DATABASE": "citybrain", "CITYBRAIN_KAFKA_TOPIC_PREFIX":
            "citybrain", "CITYBRAIN_WORKER_APP_ID": "citybrain-worker", "PATH": "/bin"}  # fmt: skip
    env = worker_env(base, namespace("fl_2"), Path("/tmp/fl_2"), None)
    assert env["CITYBRAIN_CLICKHOUSE_DATABASE"] == "replay_fl_2"
    assert env["CITYBRAIN_KAFKA_TOPIC_PREFIX"] == "replay-fl_2"
    assert env["CITYBRAIN_WORKER_APP_ID"] == "replay-fl_2-worker"
    assert env["CITYBRAIN_WORKER_METRICS_PORT"] == "0"
    assert env["CITYBRAIN_KAFKA_PARTITIONS"] == "1"
    assert env["CITYBRAIN_WORKER_INPUT"] == "merged"
    assert int(env["CITYBRAIN_WORKER_MAX_AGE_S"]) == OPEN_TIME_CHECK_S
    assert int(env["CITYBRAIN_WORKER_MAX_FUTURE_S"]) == OPEN_TIME_CHECK_S
    assert env["PATH"] == "/bin" and "CITYBRAIN_DETECTOR_CONFIG" not in env
    assert base["CITYBRAIN_CLICKHOUSE_DATABASE"] == "citybrain"  # the caller's is untouched
    configured = worker_env(base, namespace("fl_2"), Path("/tmp"), Path("/etc/b.yaml"))
    assert configured["CITYBRAIN_DETECTOR_CONFIG"] == "/etc/b.yaml"


def test_raw_kafka_messages_keep_the_future_check() -> None:
    live = {"CITYBRAIN_WORKER_MAX_FUTURE_S": "300"}
    env = worker_env(live, namespace("k"), Path("/tmp"), None, validated=False)
    assert env["CITYBRAIN_WORKER_MAX_FUTURE_S"] == "300"  # as the live worker checked
    assert int(env["CITYBRAIN_WORKER_MAX_AGE_S"]) == OPEN_TIME_CHECK_S
