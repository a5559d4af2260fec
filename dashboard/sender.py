"""Where operator actions go: the alert-actions Kafka topic, keyed by the alert (or silence)
id, so the worker (the one write path) applies them in order per alert."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from kafka import KafkaProducer
from kafka.errors import KafkaError

from detectors.contract.actions import message_key
from infra.kafka import ensure_topics
from infra.settings import CommonSettings
from infra.topics import alert_actions_topic


class SendError(RuntimeError):
    """The action could not be handed to Kafka; nothing was sent."""


class ActionSender(Protocol):
    """Hands one validated action message on, or raises SendError."""

    def send(self, message: Mapping[str, Any]) -> None: ...


def encode(message: Mapping[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of the Kafka record: the alert (or silence) id and the JSON message."""
    value = json.dumps(dict(message), ensure_ascii=False, separators=(",", ":"))
    return message_key(message).encode(), value.encode()


class KafkaActionSender:
    """Sends to ``alert_actions_topic(prefix)`` with kafka-python and waits for the broker's
    acknowledgement, so "sent" on the page means the broker has it."""

    def __init__(self, settings: CommonSettings, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.topic = alert_actions_topic(settings.kafka_topic_prefix)
        self.timeout_s = timeout_s
        self._producer: KafkaProducer | None = None
        self._lock = threading.Lock()

    def send(self, message: Mapping[str, Any]) -> None:
        key, value = encode(message)
        try:
            producer = self._connected()
            producer.send(self.topic, key=key, value=value).get(timeout=self.timeout_s)
        except (KafkaError, OSError) as exc:
            self._reset()
            raise SendError(f"Kafka did not take the action: {type(exc).__name__} {exc}") from exc

    def close(self) -> None:
        self._reset()

    def _connected(self) -> KafkaProducer:
        with self._lock:
            if self._producer is None:
                ensure_topics(self.settings, [self.topic])
                self._producer = KafkaProducer(
                    bootstrap_servers=self.settings.kafka_bootstrap,
                    acks="all",
                    retries=3,
                    linger_ms=0,
                    request_timeout_ms=int(self.timeout_s * 1000),
                    max_block_ms=int(self.timeout_s * 1000),
                )
            return self._producer

    def _reset(self) -> None:
        with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            producer.close(timeout=2)


class RecordingSender:
    """Keeps what it is given (tests); ``error`` makes it fail like an unreachable broker."""

    def __init__(self, error: str = "") -> None:
        self.sent: list[dict[str, Any]] = []
        self.error = error

    def send(self, message: Mapping[str, Any]) -> None:
        if self.error:
            raise SendError(self.error)
        self.sent.append(dict(message))
