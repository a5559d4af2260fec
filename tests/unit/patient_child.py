"""A tiny child process for the runner's tests: says it is ready, then waits for SIGTERM.

    python -m tests.unit.patient_child [serve|stubborn|report|fail|tells]

``serve`` leaves on SIGTERM with exit code 0; ``stubborn`` ignores SIGTERM (only SIGKILL
ends it); ``report`` prints a JSON summary and ends; ``fail`` writes an error and exits 3;
``tells`` serves, and on SIGUSR1 prints where it waits, as the worker logs it.
"""

from __future__ import annotations

import signal
import sys
import time
from types import FrameType


def _leave(signum: int, frame: FrameType | None) -> None:
    print("leaving on SIGTERM", flush=True)
    raise SystemExit(0)


def _tell(signum: int, frame: FrameType | None) -> None:
    print("where the worker waits: 1 tasks, 1 threads\ntask main (Task-1)", flush=True)


def main(mode: str) -> int:
    if mode == "report":
        print('{"events": 3}')
        return 0
    if mode == "fail":
        print("no such scenario", file=sys.stderr)
        return 3
    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else _leave)
    if mode == "tells":
        signal.signal(signal.SIGUSR1, _tell)
    print(f"ready ({mode})", flush=True)
    while True:
        time.sleep(0.05)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1] if len(sys.argv) > 1 else "serve"))
