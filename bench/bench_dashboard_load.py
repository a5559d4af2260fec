"""Wall screens and operators at once: the dashboard's callbacks under load, through HTTP.

    .venv/bin/python bench/bench_dashboard_load.py        # needs scripts/services start
    .venv/bin/python bench/bench_dashboard_load.py --screens 50 --operators 10 --seconds 120
    .venv/bin/python bench/bench_dashboard_load.py --url http://127.0.0.1:8050   # a running one

Without ``--url`` it starts its own ``citybrain-dashboard`` (gunicorn, as ``scripts/up``
runs it; ``--workers`` processes) on a spare port over the configured ClickHouse database
(``CITYBRAIN_CLICKHOUSE_DATABASE``: point it at a database filled by ``scripts/up`` or by
``bench/bench_dashboard.py --keep`` for realistic data), with the demo users.

Every client is a browser session of its own: it logs in, waits until every client has
(the refreshes are timed, not the logins), then sends the Dash callback requests its page
makes on each refresh, every ``--every`` seconds (2, the default
refresh), starting at a random phase. A wall screen (user ``wall``) shows the city
overview and the alarm banner; an operator (commander, district operators, emergency
staff in turn) cycles through the alert console, a district's tier page, the case list and
the alarm banner. The payloads are built from the app's own ``/_dash-dependencies``, so
they follow the layout. The clients share one asyncio loop (aiohttp), so the load
generator costs little CPU beside the server on this 2-core box.

Printed: per callback the requests, p50/p95/p99 latency and errors (a non-200 answer or a
failed request); the target is p95 < 300 ms and 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard.users import DEMO_USERS  # noqa: E402
from infra.process import ChildProcess, dashboard_answers, free_port, wait_until  # noqa: E402

TARGET_P95_MS = 300.0
WALL_PAGE = ("/", (("overview", "refresh-interval"), ("alarm banner", "shell-refresh")))
OPERATOR_PAGES = (
    ("/console", (("console", "console-refresh"), ("alarm banner", "shell-refresh"))),
    ("/district/D1", (("district tier", "tier-refresh"), ("alarm banner", "shell-refresh"))),
    ("/cases", (("case list", "cases-refresh"), ("alarm banner", "shell-refresh"))),
)
VALUES: dict[str, Any] = {
    "metric-selector.value": "pm25", "language.data": "en", "console-filter.value": "open",
    "cases-filter.value": "open", "console-url.search": "", "url.search": "",
}  # fmt: skip
"""What the page's components hold, by ``id.property`` (``url.pathname`` is the page's)."""


@dataclass
class Tally:
    """Latencies (ms) and errors per callback."""

    ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    first_error: dict[str, str] = field(default_factory=dict)

    def error(self, name: str, why: str) -> None:
        self.errors[name] += 1
        self.first_error.setdefault(name, why)


@dataclass(frozen=True)
class Run:
    """The timed part of a run: ``seconds`` of refreshes, once every client has logged in
    (``ready``), so that the logins (a password hash each, 60 at once) are not timed as
    the refreshes queued behind them."""

    seconds: float
    ready: asyncio.Barrier


class Callbacks:
    """Request bodies for the app's callbacks, found by one of their inputs."""

    def __init__(self, dependencies: list[dict[str, Any]]) -> None:
        self.by_input = {}
        for spec in dependencies:
            for item in spec["inputs"]:
                self.by_input.setdefault(item["id"], spec)

    def body(self, trigger: str, n: int, path: str) -> dict[str, Any]:
        spec = self.by_input[trigger]

        def value(item: dict[str, str]) -> Any:
            key = f"{item['id']}.{item['property']}"
            if item["property"] == "n_intervals":
                return n
            return path if key == "url.pathname" else VALUES.get(key)

        outputs = [
            {"id": o.split(".")[0], "property": o.split(".")[1]}
            for o in spec["output"].strip(".").split("...")
        ]
        return {
            "output": spec["output"],
            "outputs": outputs if spec["output"].startswith("..") else outputs[0],
            "inputs": [{**i, "value": value(i)} for i in spec["inputs"]],
            "state": [{**s, "value": value(s)} for s in spec.get("state", [])],
            "changedPropIds": [f"{trigger}.n_intervals"],
        }


async def client(
    base: str, user: str, password: str, pages: tuple[tuple[str, Any], ...],
    callbacks: Callbacks, tally: Tally, every_s: float, run: Run,
) -> None:  # fmt: skip
    """One browser session: log in, wait for every other to have logged in, then refresh
    its page(s) every ``every_s`` for the run's seconds."""
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(base, cookie_jar=jar) as session:
        form = {"username": user, "password": password, "next": "/"}
        async with session.post("/login", data=form) as answer:
            failed = answer.status != 200
            if failed:
                tally.error("login", f"HTTP {answer.status}")
        await run.ready.wait()
        if failed:
            return
        until = time.monotonic() + run.seconds
        csrf = next((c.value for c in jar if c.key == "_csrf_token"), "")
        headers = {"X-CSRFToken": csrf, "Content-Type": "application/json"}
        await asyncio.sleep(random.uniform(0, every_s))
        n = 0
        while time.monotonic() < until:
            started = time.monotonic()
            path, triggers = pages[n % len(pages)]
            n += 1
            for name, trigger in triggers:
                body = callbacks.body(trigger, n, path)
                sent = time.perf_counter()
                try:
                    async with session.post(
                        "/_dash-update-component", json=body, headers=headers
                    ) as answer:
                        await answer.read()
                        if answer.status not in (200, 204):
                            tally.error(name, f"HTTP {answer.status}")
                            continue
                except (TimeoutError, aiohttp.ClientError) as exc:
                    tally.error(name, repr(exc))
                    continue
                tally.ms[name].append(1000 * (time.perf_counter() - sent))
            await asyncio.sleep(max(0.0, every_s - (time.monotonic() - started)))


async def run(base: str, args: argparse.Namespace) -> Tally:
    tally = Tally()
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address, not only names
    async with aiohttp.ClientSession(base, cookie_jar=jar) as session:
        login = {"username": "commander", "password": _password("commander"), "next": "/"}
        async with session.post("/login", data=login) as answer:
            answer.raise_for_status()
        async with session.get("/_dash-dependencies") as answer:
            callbacks = Callbacks(await answer.json())
    wall = (WALL_PAGE,)
    timed = Run(args.seconds, asyncio.Barrier(args.screens + args.operators))
    operators = [u for u in DEMO_USERS if u.username in ("commander", "emergency", "operator-d1")]
    clients = [
        client(base, "wall", _password("wall"), wall, callbacks, tally, args.every, timed)
        for _ in range(args.screens)
    ] + [
        client(base, op.username, op.password, _operator_pages(op.username), callbacks, tally,
               args.every, timed)
        for op in (operators[i % len(operators)] for i in range(args.operators))
    ]  # fmt: skip
    await asyncio.gather(*clients)
    return tally


def _operator_pages(username: str) -> tuple[tuple[str, Any], ...]:
    if username == "operator-d1":  # a district operator sees the district's tier page
        return OPERATOR_PAGES
    return tuple(p for p in OPERATOR_PAGES if p[0] != "/district/D1") + (
        ("/district/D2", OPERATOR_PAGES[1][1]),
    )


def _password(username: str) -> str:
    return next(u.password for u in DEMO_USERS if u.username == username)


def report(tally: Tally, seconds: float) -> bool:
    total = sum(len(v) for v in tally.ms.values())
    errors = sum(tally.errors.values())
    print(f"{total:,} callback requests in {seconds:g} s ({total / seconds:,.1f}/s), "
          f"{errors} errors")  # fmt: skip
    print(f"  {'callback':<16} {'requests':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'errors':>7}")  # fmt: skip
    worst = 0.0
    for name in sorted(set(tally.ms) | set(tally.errors)):
        ms = np.array(tally.ms.get(name, []) or [np.nan])
        p50, p95, p99 = np.percentile(ms, [50, 95, 99])
        worst = max(worst, float(np.nan_to_num(p95)))
        print(f"  {name:<16} {len(tally.ms.get(name, [])):>9,} {p50:>8.0f} {p95:>8.0f} "
              f"{p99:>8.0f} {tally.errors.get(name, 0):>7}")  # fmt: skip
    for name, why in tally.first_error.items():
        print(f"  first error of {name}: {why}")
    ok = errors == 0 and worst < TARGET_P95_MS and total > 0
    print(f"{'PASS' if ok else 'FAIL'}: want p95 < {TARGET_P95_MS:g} ms for every callback "
          f"and 0 errors (worst p95 {worst:.0f} ms)")  # fmt: skip
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=50, help="wall screens (50)")
    parser.add_argument("--operators", type=int, default=10, help="operators (10)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long (60)")
    parser.add_argument("--every", type=float, default=2.0, help="refresh interval, s (2)")
    parser.add_argument("--url", help="a running dashboard (else one is started)")
    parser.add_argument("--workers", type=int, help="server processes of the started one")
    args = parser.parse_args()
    for name in ("screens", "operators"):
        if getattr(args, name) < 0:
            parser.error(f"--{name} must be 0 or more")
    if args.seconds <= 0 or args.every <= 0:
        parser.error("--seconds and --every must be positive")
    if args.url:
        return 0 if report(asyncio.run(run(args.url.rstrip("/"), args)), args.seconds) else 1
    port = free_port()
    env = {**os.environ, "CITYBRAIN_DASHBOARD_PORT": str(port),
           "CITYBRAIN_DASHBOARD_METRICS_PORT": "0"}  # fmt: skip
    if args.workers:
        env["CITYBRAIN_DASHBOARD_WORKERS"] = str(args.workers)
    made = subprocess.run([sys.executable, "-m", "dashboard", "users", "demo"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    if made.returncode != 0:
        print(f"bench_dashboard_load: could not make the demo users: {made.stderr.strip()}")
        return 2
    url = f"http://127.0.0.1:{port}"
    log = Path(tempfile.gettempdir()) / f"bench-dashboard-load-{port}.log"
    with ChildProcess("dashboard", env=env, log_path=log, cwd=ROOT, stop_timeout_s=15) as dash:
        wait_until(lambda: dashboard_answers(url), 60, f"the dashboard on {url}", dash)
        print(f"dashboard {url} ({log.read_text().strip().splitlines()[-1]})")
        return 0 if report(asyncio.run(run(url, args)), args.seconds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
