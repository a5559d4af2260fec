"""``citybrain-worker`` / ``python -m streams``: run the Faust worker."""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import logging.config
import sys
from pathlib import Path
from typing import Any

from prometheus_client import start_http_server

from infra.clickhouse import ensure_schema
from infra.kafka import ensure_internal_topics, ensure_topics
from infra.settings import SettingsError, WorkerSettings, load
from streams import logs
from streams.metrics import WorkerMetrics
from streams.watchdog import consumer_report, task_report


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="citybrain-worker",
        description="Validate, dead-letter, roll up and store every event (settings: "
        "CITYBRAIN_* environment variables, see README).",
    )
    parser.add_argument("--loglevel", default="info", choices=["debug", "info", "warning", "error"])
    parser.add_argument("--metrics-port", type=int, help="Prometheus port (0 = off)")
    return parser.parse_args(argv)


def use_event_loop(name: str) -> None:
    """Every loop made from now on (Faust's consumer thread makes its own) is ``name``'s:
    uvloop (libuv's loop: 8-15 % less worker CPU per event in bench/bench_pipeline.py, on
    trial) or the standard library's."""
    if name == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    else:
        asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())


def _worker_class(base: type[Any]) -> type[Any]:
    """Faust's worker, but SIGUSR1 logs where each task and thread waits, frames only:
    mode's own dump prints every frame's variables, megabytes of detector state."""

    class CityWorker(base):  # type: ignore[misc]
        def _on_sigusr1(self) -> None:
            logging.getLogger("streams").warning(
                "%s\n%s", task_report(self.loop), consumer_report(self.app)
            )

    return CityWorker


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    overrides = {} if args.metrics_port is None else {"worker_metrics_port": args.metrics_port}
    try:
        settings = load(WorkerSettings, **overrides)
    except SettingsError as exc:
        print(f"citybrain-worker: {exc}", file=sys.stderr)
        return 2
    use_event_loop(settings.worker_event_loop)
    metrics = WorkerMetrics.create()
    logging.config.dictConfig(logs.config(args.loglevel, settings.log_format, metrics))
    try:
        ensure_schema(settings)
    except Exception as exc:
        print(
            f"citybrain-worker: ClickHouse at {settings.clickhouse_host}:"
            f"{settings.clickhouse_port} is not usable: {exc}",
            file=sys.stderr,
        )
        return 1
    try:
        ensure_topics(settings)
    except Exception as exc:
        print(
            f"citybrain-worker: Kafka at {settings.kafka_bootstrap} is not usable: {exc}",
            file=sys.stderr,
        )
        return 1
    Path(settings.worker_data_dir).mkdir(parents=True, exist_ok=True)
    if settings.worker_metrics_port:
        start_http_server(settings.worker_metrics_port, addr=settings.metrics_addr)

    from faust.worker import Worker

    from streams.app import create_app, internal_topics
    from streams.detector_config import ConfigError

    try:
        app = create_app(settings, metrics)
    except ConfigError as exc:
        print(f"citybrain-worker: {exc}", file=sys.stderr)
        return 2
    try:  # before the group's first assignment, which leaves out topics not yet seen
        ensure_internal_topics(settings, internal_topics(app))
    except Exception as exc:
        print(f"citybrain-worker: Kafka at {settings.kafka_bootstrap} is not usable: {exc}",
              file=sys.stderr)  # fmt: skip
        return 1
    logging.getLogger("streams").info(
        "worker %s starting: Kafka %s (topics %s.*), ClickHouse %s:%d/%s, %s event loop",
        settings.worker_app_id, settings.kafka_bootstrap, settings.kafka_topic_prefix,
        settings.clickhouse_host, settings.clickhouse_port, settings.clickhouse_database,
        settings.worker_event_loop,
    )  # fmt: skip
    # Detector state is millions of long-lived small objects: a young-generation collection
    # every 700 allocations would walk them over and over.
    gc.set_threshold(100_000, 50, 100)
    gc.freeze()
    # Faust's Worker configures logging again: the same configuration (a fresh dict, as
    # dictConfig consumes what it is given).
    log_config = logs.config(args.loglevel, settings.log_format, metrics)
    worker = _worker_class(Worker)(app, loglevel=args.loglevel, quiet=True,
                                   logging_config=log_config)  # fmt: skip
    worker.execute_from_commandline()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
