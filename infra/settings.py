"""Typed, frozen settings for each process, read from CITYBRAIN_* environment variables.

Read once at a process's entry point with :func:`load` and passed down; nothing reads the
environment at import time. A bad value stops the process with a message naming the
variable.
"""

from __future__ import annotations

from typing import Any, Literal, TypeVar

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "CITYBRAIN_"
_IDENTIFIER = r"^[A-Za-z_][A-Za-z0-9_]*$"
_TOPIC_PREFIX = r"^[A-Za-z0-9._-]+$"


class SettingsError(ValueError):
    """A setting has a value the process cannot run with."""


class CommonSettings(BaseSettings):
    """Where the services are: every process needs these."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    kafka_bootstrap: str = Field("127.0.0.1:9092", min_length=3)
    kafka_port: int | None = Field(
        None,
        ge=1,
        le=65535,
        description="the port scripts/services runs the broker on; without KAFKA_BOOTSTRAP, "
        "the bootstrap is 127.0.0.1 on this port",
    )
    kafka_topic_prefix: str = Field("citybrain", pattern=_TOPIC_PREFIX)
    kafka_partitions: int = Field(4, ge=1, le=256)
    kafka_replication_factor: int = Field(
        1,
        ge=1,
        le=16,
        description="replicas of each topic the project creates (3 on scripts/cluster)",
    )
    clickhouse_host: str = Field("127.0.0.1", min_length=1)
    clickhouse_port: int = Field(9000, ge=1, le=65535)
    clickhouse_database: str = Field("citybrain", pattern=_IDENTIFIER)
    clickhouse_user: str = "default"
    clickhouse_password: SecretStr = SecretStr("")
    clickhouse_alt_hosts: str = Field(
        "",
        pattern=r"^([^,:\s]+:\d+(,[^,:\s]+:\d+)*)?$",
        description="other replicas (host:port,...): tried in turn when the first does not answer",
    )
    clickhouse_cluster: str = Field(
        "",
        pattern=r"^([A-Za-z_][A-Za-z0-9_]*)?$",
        description="the server's remote_servers cluster: tables become replicated, with "
        "<table>_dist Distributed tables for reads (empty: one server)",
    )
    raw_retention_days: int = Field(30, ge=1, le=3650)
    metrics_addr: str = "127.0.0.1"

    @model_validator(mode="before")
    @classmethod
    def _bootstrap_from_port(cls, data: Any) -> Any:
        # scripts/services moves the broker with CITYBRAIN_KAFKA_PORT: every process and
        # test must follow it, or a second checkout talks to another engineer's broker.
        if isinstance(data, dict) and data.get("kafka_port") and not data.get("kafka_bootstrap"):
            return {**data, "kafka_bootstrap": f"127.0.0.1:{data['kafka_port']}"}
        return data


class WorkerSettings(CommonSettings):
    """The Faust worker (streams/)."""

    worker_app_id: str = Field("citybrain-worker", pattern=_TOPIC_PREFIX)
    worker_metrics_port: int = Field(9101, ge=0, le=65535)
    worker_batch_size: int = Field(5000, ge=1, le=100_000)
    worker_batch_within_s: float = Field(0.5, gt=0, le=60)
    worker_data_dir: str = ".local/worker"
    worker_session_timeout_s: float = Field(
        60.0,
        ge=6,
        le=90,
        description="how long the consumer group waits for a worker that stopped answering"
        " (killed, hung) before its partitions go to the others",
    )
    worker_instance_id: str = Field(
        "",
        max_length=200,
        description="this worker's static member id in its consumer group (empty: derived"
        " from the host and the data dir); a restarted worker with the same id takes its"
        " partitions back at once instead of waiting for the broker to time the old one out",
    )
    worker_store: Literal["rocksdb", "memory"] = Field(
        "rocksdb",
        description="where the worker keeps its tables: rocksdb (on local disk under the data"
        " dir, so a restart reads only the changelog written since) or memory (every start"
        " replays the whole changelog)",
    )
    worker_max_future_s: int = Field(300, ge=0)
    worker_max_age_s: int = Field(7 * 24 * 3600, ge=60)
    worker_registry_refresh_s: float = Field(30.0, gt=0)
    worker_window_retention_s: int = Field(900, ge=60)
    worker_commit_interval_s: float = Field(1.0, gt=0, le=60)
    worker_input: Literal["families", "merged"] = "families"
    worker_model_dir: str = ".local/models"
    worker_snapshot_interval_s: float = Field(5.0, gt=0, le=300)
    worker_partition_idle_s: float = Field(
        1.0,
        ge=0,
        le=60,
        description="a partition read to its end holds back detection this long (event-time"
        " order across partitions; see streams.event_time)",
    )
    worker_event_loop: Literal["asyncio", "uvloop"] = Field(
        "asyncio",
        description="the worker's event loop: the standard library's asyncio, or uvloop"
        " (libuv: less CPU per event, on trial: two-worker runs stalled with it)",
    )
    worker_delivery: Literal["faust", "inline"] = Field(
        "inline",
        description="how Faust's fetch loop hands a message to the agent: inline (run to its"
        " first wait, joining Faust's race only if it has to wait: about 40 % less CPU per"
        " event in bench/bench_pipeline.py) or faust (its race of tasks per message)",
    )
    worker_detection: Literal["on", "off"] = Field(
        "on",
        description="off: store raw rows, roll-ups and dead letters only, with no detectors "
        "and nothing sent to the alert engine (benchmarks, storage-only deployments)",
    )
    worker_indicators: Literal["on", "off"] = Field(
        "on",
        description="on: the worker holding the alerting partition computes the five city"
        " indicators of every area at each event-time minute (indicators_1m) and hour"
        " (indicators_1h); they follow detection's ticks, so none with detection off",
    )
    worker_indicators_catchup_min: int = Field(
        60,
        ge=1,
        le=24 * 60,
        description="a worker whose indicators fell behind event time computes at most this"
        " many of the latest minutes (the older ones are skipped)",
    )
    detector_config: str = ""
    log_format: Literal["text", "json"] = Field(
        "text", description="worker log lines: text, or one JSON object per line"
    )


class SimSettings(CommonSettings):
    """The sensor simulator (sensors_sim/)."""

    sim_metrics_port: int = Field(9102, ge=0, le=65535)


class DashboardSettings(CommonSettings):
    """The Dash command center (dashboard/)."""

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = Field(8050, ge=1, le=65535)
    dashboard_metrics_port: int = Field(9103, ge=0, le=65535)
    dashboard_refresh_ms: int = Field(2000, ge=500, le=600_000)
    dashboard_workers: int = Field(
        3, ge=1, le=64, description="server processes (gunicorn); about one per core, plus one"
    )
    dashboard_threads: int = Field(4, ge=1, le=64, description="threads per server process")
    dashboard_secret_key: SecretStr = Field(
        SecretStr(""), description="signs session cookies; empty: a random key per start"
    )
    dashboard_session_minutes: int = Field(
        480, ge=1, le=7 * 24 * 60, description="a login expires after this many minutes"
    )
    dashboard_language: Literal["en", "zh"] = Field(
        "en", description="the language a browser starts in (en or zh)"
    )
    dashboard_tile_url: str = Field(
        "",
        description="optional raster tile server, e.g. http://tiles.local/{z}/{x}/{y}.png; "
        "empty: maps drawn from the city model's own geometry only",
    )
    dashboard_login_user_failures: int = Field(
        5,
        ge=1,
        le=1000,
        description="failed logins for one username within the window before "
        "further attempts for it are refused",
    )
    dashboard_login_address_failures: int = Field(
        20,
        ge=1,
        le=100_000,
        description="failed logins from one address within the window "
        "before further attempts from it are refused",
    )
    dashboard_login_window_s: int = Field(
        900, ge=10, le=86_400, description="the window (seconds) failed logins are counted in"
    )
    dashboard_secure_cookies: bool = Field(
        False,
        description="mark the session and CSRF cookies Secure (set when the dashboard "
        "is served over TLS, e.g. behind an HTTPS proxy)",
    )


class NotifierSettings(CommonSettings):
    """The webhook notifier (streams/notifier.py): its own consumer of the alerts topic."""

    notify_config: str = Field(
        "deploy/notify.yaml", min_length=1, description="YAML file listing the webhooks"
    )
    notifier_group_id: str = Field(
        "citybrain-notifier", pattern=_TOPIC_PREFIX, description="the notifier's consumer group"
    )
    notifier_metrics_port: int = Field(9104, ge=0, le=65535)
    notifier_offset_reset: Literal["latest", "earliest"] = Field(
        "latest", description="where a new consumer group starts on the alerts topic"
    )
    notifier_drain_s: float = Field(
        5.0, ge=0, le=300, description="on shutdown, how long queued messages may still go out"
    )


class ReplaySettings(CommonSettings):
    """The replay and backtest command (replay/); the CLICKHOUSE_DATABASE and
    KAFKA_TOPIC_PREFIX it reads name the live namespace that is replayed from."""

    replay_dir: str = Field(".local/replay", description="each replay's worker log and data")
    replay_chunk_rows: int = Field(
        10_000, ge=100, le=1_000_000, description="rows per block read from the raw archive"
    )
    replay_stall_timeout_s: float = Field(
        120.0, gt=0, description="a replay fails when nothing is stored for this long"
    )


S = TypeVar("S", bound=CommonSettings)


def load(cls: type[S], **overrides: object) -> S:
    """Read ``cls`` from the environment (and ``overrides``), or raise SettingsError naming
    every bad variable."""
    try:
        return cls(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = ENV_PREFIX + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}={error.get('input')!r}: {error['msg']}")
        raise SettingsError("bad setting: " + "; ".join(problems)) from None


def describe(cls: type[CommonSettings]) -> list[tuple[str, str, str]]:
    """(variable, default, description) for every setting of ``cls``: the README table."""
    rows = []
    for name, field in cls.model_fields.items():
        default = field.default
        shown = "" if isinstance(default, SecretStr) else str(default)
        rows.append((ENV_PREFIX + name.upper(), shown, field.description or ""))
    return rows
