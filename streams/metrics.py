"""Prometheus metrics of the worker, on an injectable registry so tests get fresh ones."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Gauge, Histogram

_ROWS = (1, 10, 100, 500, 1000, 2000, 5000, 10000, 20000, 50000)
_SECONDS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


@dataclass(frozen=True)
class WorkerMetrics:
    events_in: Counter
    events_valid: Counter
    events_invalid: Counter
    rows_written: Counter
    sink_batch_rows: Histogram
    sink_seconds: Histogram
    sink_errors: Counter
    batch_seconds: Histogram
    consumer_lag: Gauge
    rollup_skipped: Counter
    events_repeated: Counter
    decisions: Counter
    decisions_made: Counter
    alert_events: Counter
    producer_waits: Counter
    timer_overruns: Counter
    coordinator_waits: Counter
    input_gaps: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry = REGISTRY) -> WorkerMetrics:
        p = "citybrain_worker_"
        return cls(
            events_in=Counter(p + "events_in", "Messages consumed", ["topic"], registry=registry),
            events_valid=Counter(
                p + "events_valid", "Valid events stored", ["topic"], registry=registry
            ),
            events_invalid=Counter(
                p + "events_invalid", "Invalid events dead-lettered", ["topic", "reason"],
                registry=registry,
            ),
            rows_written=Counter(
                p + "rows_written", "Rows written to ClickHouse", ["table"], registry=registry
            ),
            sink_batch_rows=Histogram(
                p + "sink_batch_rows", "Rows per ClickHouse insert", ["table"],
                buckets=_ROWS, registry=registry,
            ),
            sink_seconds=Histogram(
                p + "sink_seconds", "Latency of a ClickHouse call", ["table"],
                buckets=_SECONDS, registry=registry,
            ),
            sink_errors=Counter(
                p + "sink_errors", "Failed ClickHouse calls (retried)", ["table"],
                registry=registry,
            ),
            batch_seconds=Histogram(
                p + "batch_seconds", "Time to process one consumed batch", buckets=_SECONDS,
                registry=registry,
            ),
            consumer_lag=Gauge(
                p + "consumer_lag", "Messages behind the partition's high watermark",
                ["topic", "partition"], registry=registry,
            ),
            rollup_skipped=Counter(
                p + "rollup_redelivered", "Re-delivered events already in their roll-up",
                registry=registry,
            ),
            events_repeated=Counter(
                p + "events_repeated", "Second sendings of stored events, skipped", ["topic"],
                registry=registry,
            ),
            decisions=Counter(
                p + "decisions", "Detector decisions sent to the alert engine", registry=registry
            ),
            decisions_made=Counter(
                p + "decisions_made", "Detector decisions made, sent or not (only those that "
                "can change an alert are sent)", registry=registry,
            ),
            alert_events=Counter(
                p + "alert_events", "Alert and incident state changes", ["kind"],
                registry=registry,
            ),
            producer_waits=Counter(
                p + "producer_waits", "Times the stream waited for Faust's producer buffer "
                "(over 100 messages) to drain", registry=registry,
            ),
            timer_overruns=Counter(
                p + "timer_overruns", "Times a periodic task of the worker ran longer than its "
                "interval (a busy worker: the next run waits)", ["timer"], registry=registry,
            ),
            coordinator_waits=Counter(
                p + "coordinator_waits", "Times Kafka's group coordinator was not ready yet in "
                "the worker's first minute (a broker just started)", registry=registry,
            ),
            input_gaps=Counter(
                p + "input_gaps", "Gaps in the whole input and in the feed (the platform or "
                "its feed stopped and came back): crossed without judging any sensor silent",
                registry=registry,
            ),
        )  # fmt: skip
