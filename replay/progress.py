"""What a replay tells its user: progress lines while it runs, a summary at the end. Pure.

>>> progress_line(produced=6000, total=10000, stored=4000, elapsed_s=2.0, pacing_left_s=0.0)
'citybrain-replay: produced 6000/10000, stored 4000 (40%), 2000 events/s, ETA 3 s'
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

PROG = "citybrain-replay"


def eta_s(stored: int, total: int, elapsed_s: float, pacing_left_s: float) -> float | None:
    """Seconds left: the pacing still to do or the work at the rate so far, whichever is
    longer; None before anything was stored.

    >>> eta_s(500, 1000, 5.0, 0.0), eta_s(500, 1000, 5.0, 60.0), eta_s(0, 1000, 5.0, 0.0)
    (5.0, 60.0, None)
    """
    if stored >= total:
        return 0.0
    if stored <= 0 or elapsed_s <= 0:
        return None
    return max(pacing_left_s, (total - stored) / (stored / elapsed_s))


def progress_line(
    produced: int, total: int, stored: int, elapsed_s: float, pacing_left_s: float
) -> str:
    """One line of progress: produced, stored, rate, ETA."""
    rate = stored / elapsed_s if elapsed_s > 0 else 0.0
    eta = eta_s(stored, total, elapsed_s, pacing_left_s)
    share = 100 * stored / total if total else 100.0
    left = "?" if eta is None else f"{math.ceil(eta)} s"
    return (
        f"{PROG}: produced {produced}/{total}, stored {stored} ({share:.0f}%), "
        f"{rate:.0f} events/s, ETA {left}"
    )


@dataclass(frozen=True, slots=True)
class RunSummary:
    """The end of a replay."""

    name: str
    status: str
    database: str
    topic_prefix: str
    events: int
    bytes: int
    seconds: float
    produce_seconds: float
    raw_rows: int
    case_rows: int
    rollup_rows: int
    dead_letters: int
    alert_events: int
    alerts_raised: int
    worker_pid: int | None = None

    @property
    def events_per_s(self) -> float:
        """End to end: from the first message sent to everything stored."""
        return self.events / self.seconds if self.seconds > 0 else 0.0

    @property
    def produce_events_per_s(self) -> float:
        return self.events / self.produce_seconds if self.produce_seconds > 0 else 0.0

    def record(self) -> dict[str, Any]:
        """Plain fields, rates included (the --json line)."""
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["produce_seconds"] = round(self.produce_seconds, 3)
        out["events_per_s"] = round(self.events_per_s, 1)
        out["produce_events_per_s"] = round(self.produce_events_per_s, 1)
        return out

    def text(self) -> str:
        """The summary as an engineer reads it.

        >>> s = RunSummary("r1", "finished", "replay_r1", "replay-r1", 1000, 250000, 2.0, 0.5,
        ...                950, 30, 400, 20, 3, 1)
        >>> print(s.text().splitlines()[1])
          events     1000 in 2.0 s: 500 events/s end to end (produced at 2000/s)
        """
        lines = [
            f"replay {self.name} {self.status}: database {self.database}, "
            f"topics {self.topic_prefix}.*",
            f"  events     {self.events} in {self.seconds:.1f} s: {self.events_per_s:.0f} "
            f"events/s end to end (produced at {self.produce_events_per_s:.0f}/s)",
            f"  stored     {self.raw_rows} raw, {self.case_rows} case events, "
            f"{self.rollup_rows} roll-up rows, {self.dead_letters} dead letters",
            f"  alerts     {self.alerts_raised} raised ({self.alert_events} alert events)",
        ]
        if self.worker_pid is not None:
            lines.append(f"  worker     still running (pid {self.worker_pid})")
        return "\n".join(lines)
