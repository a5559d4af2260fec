"""A test's or a bench's namespace: its names come from a tag prefix and a tag, its worker's
topics and data are its own, and nothing of another namespace counts as its."""

from __future__ import annotations

import pytest

from infra.kafka import namespace_topics
from infra.namespace import child_env, namespace_settings, new_tag, worker_data_dir
from infra.settings import CommonSettings
from infra.topics import owned_by, worker_app_id


def _base() -> CommonSettings:
    return CommonSettings(clickhouse_database="citybrain", kafka_topic_prefix="citybrain")


def test_names_derive_from_the_tag_prefix_and_the_tag() -> None:
    base = _base()
    inside = namespace_settings(base, "cbbench", "0a1b2c3d")
    assert (inside.clickhouse_database, inside.kafka_topic_prefix) == (
        "cbbench_0a1b2c3d",
        "cbbench-0a1b2c3d",
    )
    assert inside.kafka_bootstrap == base.kafka_bootstrap  # everything else unchanged
    assert (base.clickhouse_database, base.kafka_topic_prefix) == ("citybrain", "citybrain")


@pytest.mark.parametrize(("prefix", "tag"), [("cb-test", "ab"), ("Cb", "ab"), ("", "ab"),
                                             ("cb", ""), ("cb", "a-b"), ("1cb", "ab")])  # fmt: skip
def test_names_that_would_not_be_a_database_are_refused(prefix: str, tag: str) -> None:
    with pytest.raises(ValueError):
        namespace_settings(_base(), prefix, tag)


def test_tags_are_fresh_and_of_the_length_asked() -> None:
    tags = {new_tag(8) for _ in range(50)}
    assert len(tags) == 50 and {len(t) for t in tags} == {8}
    assert len(new_tag()) == 10


def test_a_namespace_owns_its_topics_and_its_workers_and_no_other() -> None:
    prefix = "cbtest-ab12"
    assert worker_app_id(prefix) == "cbtest-ab12-worker"
    assert all(owned_by(prefix, t) for t in namespace_topics(prefix))
    assert owned_by(prefix, "cbtest-ab12-worker-detector_state-changelog")
    for foreign in ("citybrain.water", "cbtest-ab123.water", "cbtest-ab1.water",
                    "cbtest-ab123-worker-__assignor-__leader", "cbtest-ab12"):  # fmt: skip
        assert not owned_by(prefix, foreign), foreign


def test_children_and_worker_data_point_into_the_namespace_only() -> None:
    a = namespace_settings(_base(), "cbtest", "aa")
    b = namespace_settings(_base(), "cbtest", "bb")
    assert worker_data_dir(a) != worker_data_dir(b)
    assert worker_data_dir(a).name == "cbtest-aa"
    env = child_env(a, CITYBRAIN_WORKER_BATCH_SIZE="7")
    assert env["CITYBRAIN_CLICKHOUSE_DATABASE"] == "cbtest_aa"
    assert env["CITYBRAIN_KAFKA_TOPIC_PREFIX"] == "cbtest-aa"
    assert env["CITYBRAIN_WORKER_APP_ID"] == "cbtest-aa-worker"
    assert env["CITYBRAIN_WORKER_DATA_DIR"] == str(worker_data_dir(a))
    assert env["CITYBRAIN_WORKER_BATCH_SIZE"] == "7"
