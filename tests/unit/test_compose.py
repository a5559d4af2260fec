"""docker-compose.yml agrees with the settings the code reads (no Docker engine runs here,
so the file is checked, not started)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from infra.settings import (
    ENV_PREFIX,
    CommonSettings,
    DashboardSettings,
    NotifierSettings,
    SimSettings,
    WorkerSettings,
    load,
)

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
ALL_SERVICES: dict[str, Any] = COMPOSE["services"]
SERVICES = {name: s for name, s in ALL_SERVICES.items() if "profiles" not in s}
"""What `docker compose up` starts (the `cluster` profile's services start only when asked)."""
CLUSTER = {name: s for name, s in ALL_SERVICES.items() if "cluster" in s.get("profiles", ())}
APPS = {"worker": WorkerSettings, "simulator": SimSettings, "dashboard": DashboardSettings,
        "notifier": NotifierSettings}  # fmt: skip


def _env(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in ALL_SERVICES[service]["environment"].items()}


def test_every_service_is_there_with_a_healthcheck() -> None:
    expected = {"kafka", "clickhouse", "worker", "simulator", "dashboard", "notifier",
                "prometheus"}  # fmt: skip
    assert set(SERVICES) == expected
    for name in expected:
        assert "healthcheck" in SERVICES[name], name


@pytest.mark.parametrize("service", sorted(APPS))
def test_app_environment_names_real_settings(service: str) -> None:
    cls = APPS[service]
    known = {ENV_PREFIX + f.upper() for f in cls.model_fields}
    env = _env(service)
    unknown = {k for k in env if k.startswith(ENV_PREFIX)} - known
    assert not unknown, f"{service} sets variables no setting reads: {unknown}"
    settings = load(cls, **{k[len(ENV_PREFIX) :].lower(): v for k, v in env.items()})
    assert isinstance(settings, CommonSettings)


@pytest.mark.parametrize("service", sorted(APPS))
def test_apps_reach_the_services_by_their_compose_names(service: str) -> None:
    env = _env(service)
    kafka_env = _env("kafka")
    assert (
        env["CITYBRAIN_KAFKA_BOOTSTRAP"] == kafka_env["KAFKA_ADVERTISED_LISTENERS"].split("//")[1]
    )
    assert env["CITYBRAIN_CLICKHOUSE_HOST"] == SERVICES["clickhouse"]["hostname"]
    ch_env = _env("clickhouse")
    assert env["CITYBRAIN_CLICKHOUSE_USER"] == ch_env["CLICKHOUSE_USER"]
    assert env["CITYBRAIN_CLICKHOUSE_PASSWORD"] == ch_env["CLICKHOUSE_PASSWORD"]
    assert env["CITYBRAIN_CLICKHOUSE_DATABASE"] == ch_env["CLICKHOUSE_DB"]
    assert env["CITYBRAIN_METRICS_ADDR"] == "0.0.0.0"  # reachable by Prometheus
    assert all(dep in SERVICES for dep in SERVICES[service]["depends_on"])


def test_prometheus_scrapes_each_metrics_port() -> None:
    prom = yaml.safe_load((ROOT / "deploy" / "prometheus.yml").read_text())
    targets = {job["job_name"]: job["static_configs"][0]["targets"][0]
               for job in prom["scrape_configs"]}  # fmt: skip
    ports = {
        "worker": _env("worker")["CITYBRAIN_WORKER_METRICS_PORT"],
        "simulator": _env("simulator")["CITYBRAIN_SIM_METRICS_PORT"],
        "dashboard": _env("dashboard")["CITYBRAIN_DASHBOARD_METRICS_PORT"],
        "notifier": _env("notifier")["CITYBRAIN_NOTIFIER_METRICS_PORT"],
    }
    for service, port in ports.items():
        assert targets[f"citybrain-{service}"] == f"{service}:{port}"


def test_defaults_match_the_local_services() -> None:
    defaults = CommonSettings.model_fields
    assert defaults["kafka_bootstrap"].default == "127.0.0.1:9092"
    assert defaults["clickhouse_port"].default == 9000
    dash_port = _env("dashboard")["CITYBRAIN_DASHBOARD_PORT"]
    assert f"{dash_port}:{dash_port}" in SERVICES["dashboard"]["ports"]
    assert DashboardSettings.model_fields["dashboard_port"].default == int(dash_port)


def test_image_installs_the_locked_dependencies() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "-c requirements.lock" in dockerfile
    for package in ("detectors", "infra", "streams", "sensors_sim", "dashboard"):
        assert f"COPY {package} {package}" in dockerfile


def test_readme_documents_every_setting() -> None:
    readme = (ROOT / "README.md").read_text()
    for cls in APPS.values():
        for field in cls.model_fields:
            assert f"`{ENV_PREFIX}{field.upper()}`" in readme, field
    first_commands = readme.split("```")[1]
    assert "scripts/up" in first_commands and "scripts/test" in first_commands
    assert "scripts/test" in (ROOT / ".ci" / "run").read_text()


def test_the_cluster_profile_has_the_topology_of_scripts_cluster() -> None:
    workers = ("worker-cluster", "worker-cluster2")
    assert set(CLUSTER) == {"kafka1", "kafka2", "kafka3", "zookeeper", "clickhouse1",
                            "clickhouse2", *workers, "simulator-cluster"}  # fmt: skip
    brokers = [_env(f"kafka{i}") for i in (1, 2, 3)]
    assert {b["KAFKA_NODE_ID"] for b in brokers} == {"1", "2", "3"}
    assert len({b["CLUSTER_ID"] for b in brokers}) == 1
    for broker in brokers:
        assert broker["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
        assert broker["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
        assert broker["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "3"
        voters = broker["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(",")
        assert voters == [f"{i}@kafka{i}:9093" for i in (1, 2, 3)]
    apps: list[tuple[str, type[CommonSettings]]] = [(w, WorkerSettings) for w in workers]
    for name, cls in [*apps, ("simulator-cluster", SimSettings)]:
        env = _env(name)
        settings = load(cls, **{k[len(ENV_PREFIX) :].lower(): v for k, v in env.items()})
        assert settings.kafka_bootstrap == "kafka1:9092,kafka2:9092,kafka3:9092"
        assert settings.kafka_replication_factor == 3
        assert settings.clickhouse_cluster == "citybrain"
        assert all(dep in CLUSTER for dep in ALL_SERVICES[name]["depends_on"])


def test_the_cluster_workers_share_a_group_and_no_state_files() -> None:
    workers = [ALL_SERVICES[name] for name in ("worker-cluster", "worker-cluster2")]
    ids = {load(WorkerSettings, **{k[len(ENV_PREFIX) :].lower(): v for k, v in
                                   _env(name).items()}).worker_app_id
           for name in ("worker-cluster", "worker-cluster2")}  # fmt: skip
    assert len(ids) == 1  # one consumer group
    volumes = [w["volumes"] for w in workers]
    assert all(len(v) == 1 for v in volumes) and volumes[0] != volumes[1]
    assert {v[0].split(":")[0] for v in volumes} <= set(COMPOSE["volumes"])
    for worker in workers:
        data_dir = worker["environment"]["CITYBRAIN_WORKER_DATA_DIR"]
        assert data_dir.startswith(worker["volumes"][0].split(":")[1])  # on its own volume
        assert worker["restart"] == "unless-stopped"  # a dead worker comes back


def test_cluster_replicas_render_the_same_config_template_as_scripts_cluster() -> None:
    template = (ROOT / "scripts" / "clickhouse" / "cluster.xml").read_text()
    body = template.split("-->", 1)[1]  # placeholders used, not the ones the comment lists
    placeholders = set(re.findall(r"@[A-Z0-9_]+@", body))
    script = (ROOT / "scripts" / "cluster").read_text()
    for name in ("clickhouse1", "clickhouse2"):
        service = ALL_SERVICES[name]
        assert "./scripts/clickhouse/cluster.xml:/citybrain/cluster.xml:ro" in service["volumes"]
        command = " ".join(service["entrypoint"])
        assert {p for p in placeholders if f"s#{p}#" not in command} == set(), name
    assert {p for p in placeholders if f"s#{p}#" not in script} == set()
