"""The worker's checkpoint: consumed events are acked only after the state that learnt them
is in its table and the producer has delivered it (Faust commits only acked offsets, so a
kill -9 before that re-reads them into the restored state)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

from streams.app import Checkpoint


class Recorder:
    def __init__(self) -> None:
        self.log: list[Any] = []

    async def save(self) -> None:
        self.log.append("save")

    async def flush(self) -> None:
        self.log.append("flush")

    async def ack(self, event: Any) -> None:
        self.log.append(("ack", event))


def test_events_are_acked_after_the_state_is_saved_and_delivered() -> None:
    rec = Recorder()
    checkpoint = Checkpoint(interval_s=3600, save=rec.save)
    checkpoint.stream = rec
    app: Any = SimpleNamespace(producer=rec)
    checkpoint.processed(["e1", "e2"])
    assert not checkpoint.due(0)  # the interval has not passed, no count is set
    assert checkpoint.due(2)  # but two unacked events reach a limit of two
    checkpoint.processed(["e3"])
    asyncio.run(checkpoint.commit(app))
    assert rec.log == ["save", "flush", ("ack", "e1"), ("ack", "e2"), ("ack", "e3")]
    assert not checkpoint.due(1)  # nothing left unacked


def test_a_checkpoint_falls_due_when_its_interval_has_passed() -> None:
    rec = Recorder()
    checkpoint = Checkpoint(interval_s=0.0, save=rec.save)
    assert not checkpoint.due(0)  # nothing consumed: nothing to commit
    checkpoint.processed(["e1"])
    assert checkpoint.due(0)
