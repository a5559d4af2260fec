"""The topology: one Faust app, one ingest agent over every family topic.

The agent is a short adapter: take a batch of events, hand it to the pipeline, send the
dead letters, and let Faust ack the batch only when all of that is done.
"""

from __future__ import annotations

import asyncio
import os
import socket
from typing import Any

import faust

from detectors.events import Family
from infra.clickhouse import connect
from infra.settings import WorkerSettings
from infra.topics import all_family_topics, dead_letter_topic, merged_topic
from streams.batch import Message
from streams.metrics import WorkerMetrics
from streams.pipeline import Pipeline
from streams.sink import ClickHouseSink, dead_letter_headers


def worker_name() -> str:
    """host:pid, stored with each dead letter to tell workers apart."""
    return f"{socket.gethostname()}:{os.getpid()}"


def to_message(event: Any) -> Message:
    """The parts of a Faust event the pipeline needs."""
    msg = event.message
    return Message(
        topic=msg.topic,
        partition=msg.partition,
        offset=msg.offset,
        timestamp_ms=int(msg.timestamp * 1000),
        key=msg.key,
        value=msg.value if isinstance(msg.value, bytes) else bytes(msg.value or b""),
    )


def input_topics(settings: WorkerSettings) -> dict[str, Family | None]:
    """The topics the worker consumes and the family each carries (None: any, merged)."""
    prefix = settings.kafka_topic_prefix
    if settings.worker_input == "merged":
        return {merged_topic(prefix): None}
    return {name: family for family, name in all_family_topics(prefix).items()}


def create_app(
    settings: WorkerSettings,
    metrics: WorkerMetrics | None = None,
    sink: ClickHouseSink | None = None,
) -> faust.App:
    """Build the worker app; nothing connects until it starts."""
    metrics = metrics or WorkerMetrics.create()
    sink = sink or ClickHouseSink(lambda: connect(settings))
    app = faust.App(
        settings.worker_app_id,
        broker=f"kafka://{settings.kafka_bootstrap}",
        store="memory://",
        datadir=settings.worker_data_dir,
        web_enabled=False,
        topic_partitions=settings.kafka_partitions,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        stream_buffer_maxsize=max(4096, 2 * settings.worker_batch_size),
        broker_commit_interval=settings.worker_commit_interval_s,
        producer_acks=-1,
    )
    family_of_topic = input_topics(settings)
    source = app.topic(*family_of_topic, key_serializer="raw", value_serializer="raw")
    dead_letters = app.topic(
        dead_letter_topic(settings.kafka_topic_prefix), key_serializer="raw",
        value_serializer="raw",
    )  # fmt: skip
    pipeline = Pipeline(
        sink, metrics, family_of_topic,
        worker_name=worker_name(),
        max_future_s=settings.worker_max_future_s,
        max_age_s=settings.worker_max_age_s,
        registry_refresh_s=settings.worker_registry_refresh_s,
        window_retention_s=settings.worker_window_retention_s,
    )  # fmt: skip

    @app.agent(source)
    async def ingest(stream: faust.StreamT[bytes]) -> None:
        async for events in stream.take_events(  # type: ignore[attr-defined]
            settings.worker_batch_size, within=settings.worker_batch_within_s
        ):
            messages = [to_message(e) for e in events]
            dead = await pipeline.process(messages)
            deliveries = [
                await dead_letters.send(
                    key=f"{m.topic}/{m.partition}/{m.offset}".encode(),
                    value=m.value,
                    headers=dead_letter_headers(
                        inv.reason, inv.detail, m.topic, m.partition, m.offset
                    ),
                )
                for m, inv in dead
            ]
            if deliveries:
                await asyncio.gather(*deliveries)
            _observe_lag(app, events, metrics)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]
    async def forget_state(sender: Any, revoked: Any = None, **kwargs: Any) -> None:
        # Another worker may own these partitions now; its writes would make ours stale.
        pipeline.forget_partitions()

    return app


def _observe_lag(app: faust.App, events: Any, metrics: WorkerMetrics) -> None:
    last: dict[Any, int] = {}
    for event in events:
        tp = event.message.tp
        last[tp] = max(last.get(tp, -1), event.message.offset)
    for tp, offset in last.items():
        try:
            highwater = app.consumer.highwater(tp)
        except Exception:  # the consumer may be rebalancing; lag is best effort
            continue
        if highwater is not None and highwater >= 0:
            metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(highwater - offset - 1)
