"""Watch a replay's worker: progress every few seconds, and the moment it has consumed and
stored everything that was produced (or the moment it died or stalled)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.errors import KafkaError

from infra.settings import CommonSettings
from replay.namespace import Namespace
from replay.progress import progress_line
from replay.store import Stored, stored
from replay.worker import ReplayWorker


class ReplayFailed(RuntimeError):
    """The replay could not finish; the message says why."""


class GroupWatch:
    """Whether the replay worker's consumer group has committed every record of every
    replay topic it consumes: the family topics, and whatever internal topic (alerting)
    the worker feeds itself. Faust commits an offset only after its batch was acked."""

    def __init__(self, bootstrap: str, ns: Namespace) -> None:
        self._ns = ns
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
        self._consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                                       enable_auto_commit=False,
                                       allow_auto_create_topics=False)  # fmt: skip

    def committed(self) -> dict[TopicPartition, int]:
        found = self._admin.list_group_offsets({self._ns.app_id: None}).get(self._ns.app_id, {})
        return {tp: meta.offset for tp, meta in found.items() if self._ns.owns_topic(tp.topic)}

    def behind(self, required: list[str]) -> list[str]:
        """Consumed partitions not yet committed to their end (``required`` topics count
        as consumed), as ``topic/partition committed/end``; empty when caught up."""
        committed = self.committed()
        tps = set(committed) | {TopicPartition(t, 0) for t in required}
        try:
            ends = self._consumer.end_offsets(list(tps))
        except (KafkaError, KeyError):  # a partition's leader in flux: ask again next time
            return ["(end offsets unavailable)"]
        return [
            f"{tp.topic}/{tp.partition} {committed.get(tp, 0)}/{end}"
            for tp, end in sorted(ends.items())
            if committed.get(tp, 0) < end
        ]

    def close(self) -> None:
        self._consumer.close()
        self._admin.close()


class Monitor:
    """Prints progress to ``err`` and waits for the end; fails when the worker dies or
    nothing moves for ``stall_timeout_s``."""

    def __init__(
        self, settings: CommonSettings, ns: Namespace, worker: ReplayWorker, total: int,
        err: TextIO, stall_timeout_s: float, every_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:  # fmt: skip
        self._settings, self._ns, self._worker = settings, ns, worker
        self.total, self._err, self._stall_s, self._every_s = total, err, stall_timeout_s, every_s
        self._clock = clock
        self.started = clock()
        self._next = self.started + every_s
        self._last_seen: tuple[object, ...] = ()
        self._moved_at = self.started

    def tick(self, produced: int, pacing_left_s: float = 0.0) -> None:
        """While producing: print progress when due; fail if the worker died."""
        if not self._worker.alive():
            raise ReplayFailed("the worker stopped:\n" + self._worker.log_tail())
        if self._clock() >= self._next:
            self._print(produced, stored(self._settings, self._ns.database, final=False),
                        pacing_left_s)  # fmt: skip

    def _print(self, produced: int, now: Stored, pacing_left_s: float) -> None:
        line = progress_line(produced, self.total, now.messages, self._clock() - self.started,
                             pacing_left_s)  # fmt: skip
        self._err.write(line + "\n")
        self._err.flush()
        self._next = self._clock() + self._every_s

    def wait_done(self, produced: int, required: list[str], poll_s: float = 0.5) -> Stored:
        """Block until all ``produced`` messages are stored and every consumed topic is
        committed; returns the FINAL counts."""
        watch = GroupWatch(self._settings.kafka_bootstrap, self._ns)
        self.total = produced
        try:
            while True:
                done = self._check(produced, required, watch)
                if done is not None:
                    return done
                time.sleep(poll_s)
        finally:
            watch.close()

    def _check(self, produced: int, required: list[str], watch: GroupWatch) -> Stored | None:
        if not self._worker.alive():
            raise ReplayFailed("the worker stopped:\n" + self._worker.log_tail())
        rough = stored(self._settings, self._ns.database, final=False)
        behind = watch.behind(required)
        self._note_movement((rough.messages, *behind), behind)
        if self._clock() >= self._next:
            self._print(produced, rough, 0.0)
        if rough.messages < produced or behind:
            return None
        final = stored(self._settings, self._ns.database, final=True)
        complete = final.messages >= produced and final.rollup_city == final.raw + final.cases
        return final if complete else None

    def _note_movement(self, seen: tuple[object, ...], behind: list[str]) -> None:
        now = self._clock()
        if seen != self._last_seen:
            self._last_seen, self._moved_at = seen, now
        elif now - self._moved_at > self._stall_s:
            lag = f"; not committed: {', '.join(behind)}" if behind else ""
            tail = self._worker.log_tail()  # before the report, which would fill it
            waits = self._worker.where_it_waits()
            raise ReplayFailed(
                f"nothing stored or committed for {self._stall_s:.0f} s ({seen[0]} of "
                f"{self.total} messages stored{lag})\n" + tail + (f"\n{waits}" if waits else "")
            )  # fmt: skip
