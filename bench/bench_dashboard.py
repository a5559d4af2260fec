"""How fast each view of the command center gets its data, on a city of 10,000 sensors with
30 days of roll-ups.

    .venv/bin/python bench/bench_dashboard.py            # needs scripts/services start
    .venv/bin/python bench/bench_dashboard.py --grid-days 30 --runs 50 --keep

It fills a database of its own (dropped at the end unless --keep) with the simulator's
city at 34 sensors per grid cell (about 10,200 sources), then times every view's data
callback (the same functions the Dash callbacks call: queries plus rendering) against the
real ClickHouse, and prints p50/p95 per view, and how much of it the queries took.

The data set, generated on the server in large blocks with integer timestamps
(INSERT ... SELECT over system.numbers):

- roll-ups (rollups_1m), one row per (level, area, metric, minute), one source partition:
  city, districts and streets every minute for ``--days`` (30); grid cells every minute
  for the last ``--grid-days`` (7 by default: the 18.16 server inserts about 0.5 M rows/s
  here, and 30 days of grid cells alone are 224 M rows, 7 minutes);
- raw readings (events_raw) of every sensor stream at its cadence for the last 3 hours;
- 3,000 alerts over the 30 days (active, acknowledged, cleared, resolved, with versions)
  and their audit trail, 5,000 stage changes, 30,000 grid-management cases with their
  lifecycle events, and 20,000 dead letters;
- the five indicators of every area (city, districts, streets, grid cells): 24 hours of
  minutes (indicators_1m) and 30 days of hours (indicators_1h), components as the worker
  writes them, for the scorecard views (city, a district, a grid cell).

    .venv/bin/python bench/bench_dashboard.py --scorecard-only   # the indicators alone
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard import callbacks, router, views  # noqa: E402
from dashboard.queries import ClickHouseQueries  # noqa: E402
from dashboard.scope import Role, Scope  # noqa: E402
from detectors.contract.events import CASE_CATEGORIES, CASE_STATUSES  # noqa: E402
from detectors.contract.indicators import (  # noqa: E402
    INDICATORS,
    Component,
    components_json,
    specs_of,
)
from detectors.contract.levels import WarningLevel  # noqa: E402
from detectors.contract.tables import (  # noqa: E402
    ALERT_EVENTS,
    ALERTS_CURRENT,
    CASES_RAW,
    DEAD_LETTERS,
    STAGE_CHANGES,
)
from infra.clickhouse import connect, drop_database, ensure_schema  # noqa: E402
from infra.settings import CommonSettings, load  # noqa: E402
from sensors_sim.city import CityModel, build_city  # noqa: E402
from sensors_sim.reference import write_reference  # noqa: E402

MIN_S = 60
DAY_S = 86_400
COMMANDER = Scope(Role.CITY_COMMANDER, "", "bench")
OPERATOR = Scope(Role.DISTRICT_OPERATOR, "D1", "bench-d1")


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class Filler:
    """Writes the data set into ``settings``' database."""

    def __init__(self, settings: CommonSettings, city: CityModel, now_s: int, seed: int = 7):
        self.settings = settings
        self.city = city
        self.now_s = now_s // MIN_S * MIN_S
        self.rng = random.Random(seed)
        self.client = connect(settings, send_receive_timeout=600)

    def run(self, days: int, grid_days: int, scorecard_only: bool = False) -> dict[str, int]:
        write_reference(self.settings, self.city, clock=lambda: self.now_s - DAY_S * days)
        counts = self._indicators(days)
        if scorecard_only:
            return counts
        counts |= {"rollups_1m": self._rollups(days, grid_days), "events_raw": self._raw(3)}
        counts["alerts_current"], counts["alert_events"] = self._alerts(days)
        counts["stage_changes"] = self._stages(days)
        counts["cases_raw"] = self._cases(days)
        counts["dead_letters"] = self._dead_letters(days)
        self.client.execute("DROP TABLE IF EXISTS bench_keys")
        self.client.execute("DROP TABLE IF EXISTS bench_streams")
        return counts

    def _indicators(self, days: int) -> dict[str, int]:
        """Every area's five indicators: a minute each for 24 hours, an hour each for
        ``days`` days (about 1 in 97 not judged: NULL)."""
        self.client.execute(
            "CREATE TABLE bench_scored (level String, code String, indicator String, "
            "components String) ENGINE = Memory"
        )
        parts = {
            i: components_json(Component(s.name, 50.0, s.unit, 50.0, s.weight) for s in specs_of(i))
            for i in INDICATORS
        }
        scored = [(a.level, a.code, i.value, parts[i]) for a in self.city.areas for i in INDICATORS]
        self.client.execute("INSERT INTO bench_scored VALUES", scored)
        counts = {}
        for table, step, windows in (("indicators_1m", MIN_S, DAY_S // MIN_S),
                                     ("indicators_1h", 3600, days * 24)):  # fmt: skip
            started = time.perf_counter()
            self.client.execute(
                f"""INSERT INTO {table} (level, code, indicator, window_start, score,
                       components, version)
                SELECT level, code, indicator, toDateTime(%(start)s + number * %(step)s),
                       if((number + cityHash64(code)) %% 97 = 0, NULL,
                          toFloat64(40 + (number + cityHash64(code, indicator)) %% 60)),
                       components, 1
                FROM (SELECT number FROM system.numbers LIMIT %(windows)s)
                CROSS JOIN bench_scored""",
                {"start": self.now_s // step * step - (windows - 1) * step, "step": step,
                 "windows": windows},
                settings={"max_block_size": 64},
            )  # fmt: skip
            counts[table] = int(self.client.execute(f"SELECT count() FROM {table}")[0][0])
            _say(f"  {table}: {counts[table]:,} rows in {time.perf_counter() - started:.1f} s")
        self.client.execute("DROP TABLE IF EXISTS bench_scored")
        return counts

    def _sensors(self) -> list[Any]:
        return [s for s in self.city.sources if s.family.value != "case"]

    def _rollups(self, days: int, grid_days: int) -> int:
        combos: dict[tuple[str, str, str, str], float] = {}
        for source in self._sensors():
            loc = source.location
            for metric in source.metrics:
                for level in ("grid", "street", "district", "city"):
                    key = (level, loc.code(level), metric, source.family.value)
                    combos[key] = combos.get(key, 0.0) + MIN_S / source.cadence_s
        self.client.execute(
            "CREATE TABLE bench_keys (level String, key String, metric String, family String, "
            "n Float64) ENGINE = Memory"
        )
        self.client.execute("INSERT INTO bench_keys VALUES", [(*k, n) for k, n in combos.items()])
        today = self.now_s // DAY_S * DAY_S
        for back in range(days):
            day = today - back * DAY_S
            minutes = (self.now_s - day) // MIN_S + 1 if back == 0 else 1440
            levels = (
                ("grid", "street", "district", "city")
                if back < grid_days
                else ("street", "district", "city")
            )
            started = time.perf_counter()
            self.client.execute(
                """INSERT INTO rollups_1m (level, key, metric, family, window_start, src_topic,
                       src_partition, cnt, sum, min, max, version)
                SELECT level, key, metric, family, toDateTime(%(day)s + number * 60),
                       concat('bench.', family), 0, toUInt64(ceil(n)),
                       ceil(n) * (20 + (number + cityHash64(key)) %% 40), 5, 90, 1
                FROM (SELECT number FROM system.numbers LIMIT %(minutes)s)
                CROSS JOIN (SELECT * FROM bench_keys WHERE level IN %(levels)s)""",
                {"day": day, "minutes": minutes, "levels": levels},
                settings={"max_block_size": 160, "max_memory_usage": 4_000_000_000},
            )
            _say(
                f"  roll-ups: day -{back} ({', '.join(levels)}) "
                f"in {time.perf_counter() - started:.1f} s"
            )
        return int(self.client.execute("SELECT count() FROM rollups_1m")[0][0])

    def _raw(self, hours: int) -> int:
        streams = [
            (
                s.source_id,
                s.family.value,
                m,
                s.location.city,
                s.location.district,
                s.location.street,
                s.location.grid,
                s.cadence_s,
            )
            for s in self._sensors()
            for m in sorted(s.metrics)
        ]
        self.client.execute(
            "CREATE TABLE bench_streams (source_id String, family String, metric String, "
            "city String, district String, street String, grid String, cadence UInt32) "
            "ENGINE = Memory"
        )
        self.client.execute("INSERT INTO bench_streams VALUES", streams)
        start = self.now_s - hours * 3600
        self.client.execute(
            """INSERT INTO events_raw (event_id, ts, ts_ms, family, source_id, metric, value,
                   city, district, street, grid, ingested_at)
            SELECT concat(source_id, ':', metric, ':', toString(number)),
                   toDateTime(%(start)s + number * 30), (%(start)s + number * 30) * 1000,
                   family, source_id, metric, 40 + (number %% 50) / 2, city, district, street,
                   grid, toDateTime(%(start)s + number * 30)
            FROM (SELECT number FROM system.numbers LIMIT %(steps)s)
            CROSS JOIN bench_streams
            WHERE (number * 30) %% cadence = 0""",
            {"start": start, "steps": hours * 120},
            settings={"max_block_size": 16, "max_memory_usage": 4_000_000_000},
        )
        return int(self.client.execute("SELECT count() FROM events_raw")[0][0])

    def _alerts(self, days: int) -> tuple[int, int]:
        sensors = self._sensors()
        current, events = [], []
        for n in range(3000):
            source = self.rng.choice(sensors)
            metric = self.rng.choice(sorted(source.metrics))
            level = self.rng.choice(list(WarningLevel))
            opened = (self.now_s - self.rng.randrange(days * DAY_S)) * 1000
            recent = opened > (self.now_s - 2 * DAY_S) * 1000
            status = self.rng.choice(
                ["active", "acknowledged"] if recent and n % 5 == 0 else ["cleared", "resolved"]
            )
            loc = source.location
            alert_id = f"bench-{n}"
            evidence = json.dumps({"detector": "static", "value": 99.0, "score": level.score})
            for version, state in enumerate(
                ["active", status] if status != "active" else ["active"], start=1
            ):
                updated = opened + (version - 1) * 600_000
                current.append(
                    (
                        alert_id,
                        "alert",
                        "",
                        f"{source.source_id}:{metric}",
                        "condition",
                        level.roman,
                        int(level),
                        "district",
                        state,
                        opened,
                        updated,
                        version,
                        "bench" if state != "active" else "",
                        "",
                        1,
                        f"{metric} above limit",
                        loc.city,
                        loc.district,
                        loc.street,
                        loc.grid,
                        "",
                        source.source_id,
                        metric,
                        evidence,
                        updated,  # created_ms: as if made at once
                    )
                )
                events.append(
                    (
                        f"{alert_id}-{version}",
                        updated // 1000,
                        updated,
                        "raised" if version == 1 else state,
                        alert_id,
                        "",
                        source.source_id,
                        "condition",
                        level.roman,
                        int(level),
                        "district",
                        1,
                        "bench",
                        loc.city,
                        loc.district,
                        loc.street,
                        loc.grid,
                        "",
                        evidence,
                        "",
                        "",
                        updated,
                    )
                )
        self.client.execute(ALERTS_CURRENT.insert_sql(), current)
        self.client.execute(ALERT_EVENTS.insert_sql(), events)
        return len(current), len(events)

    def _stages(self, days: int) -> int:
        areas = [a for a in self.city.areas if a.level in ("city", "district", "street")]
        rows = []
        for _ in range(5000):
            area = self.rng.choice(areas)
            ts = (self.now_s - self.rng.randrange(days * DAY_S)) * 1000
            stage = self.rng.randint(1, 5)
            rows.append(
                (
                    area.level,
                    area.code,
                    ts // 1000,
                    ts,
                    stage,
                    self.rng.randint(1, 5),
                    f"stage {stage}: bench",
                )
            )
        self.client.execute(
            STAGE_CHANGES.insert_sql(),
            rows,
        )
        return len(rows)

    def _cases(self, days: int) -> int:
        cells = list(self.city.grid_locations().values())
        rows = []
        for n in range(30_000):
            loc = self.rng.choice(cells)
            category = self.rng.choice(CASE_CATEGORIES)
            ts = (self.now_s - self.rng.randrange(days * DAY_S)) * 1000
            for status in CASE_STATUSES[: self.rng.randint(1, len(CASE_STATUSES))]:
                rows.append(
                    (
                        f"case-{n}-{status}",
                        ts // 1000,
                        ts,
                        f"case-{n}",
                        category,
                        status,
                        "HOTLINE",
                        loc.city,
                        loc.district,
                        loc.street,
                        loc.grid,
                        120.2,
                        30.2,
                        "bench",
                        "",
                        ts // 1000,
                    )
                )
                ts += self.rng.randrange(5, 300) * 60_000
        self.client.execute(
            CASES_RAW.insert_sql(),
            rows,
        )
        return len(rows)

    def _dead_letters(self, days: int) -> int:
        rows = []
        for n in range(20_000):
            at = self.now_s - self.rng.randrange(days * DAY_S)
            district = f"D{self.rng.randint(1, 6)}"
            raw = json.dumps({"district": district, "value": 1e9})
            rows.append(("bench.water", 0, n, at, "water", "out_of_range", "", raw, "bench"))
        self.client.execute(
            DEAD_LETTERS.insert_sql(),
            rows,
        )
        return len(rows)


class TimedQueries:
    """Any Queries, adding up the time spent in them (the rest of a callback renders)."""

    def __init__(self, inner: ClickHouseQueries) -> None:
        self.inner = inner
        self.spent = 0.0

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.inner, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                self.spent += time.perf_counter() - started

        return timed


def _views(seeded: dict[str, str]) -> dict[str, Callable[[Any], object]]:
    grid, street, sensor = seeded["grid"], seeded["street"], seeded["sensor"]
    alert_id, case_id = seeded["alert"], seeded["case"]
    pages = router.PageSettings()
    return {
        "city tier": lambda q: views.refresh_tier(q, COMMANDER, "/city", "", "en"),
        "district tier": lambda q: views.refresh_tier(q, COMMANDER, "/district/D1", "", "en"),
        "district tier (D1 operator)": lambda q: views.refresh_tier(
            q, OPERATOR, "/district/D1", "", "en"
        ),
        "street tier": lambda q: views.refresh_tier(q, COMMANDER, f"/street/{street}", "", "en"),
        "grid cell tier": lambda q: views.refresh_tier(q, COMMANDER, f"/grid/{grid}", "", "en"),
        "page routing (district)": lambda q: router.render(
            q, COMMANDER, "/district/D1", "", "en", pages
        ),
        "sensor": lambda q: views.refresh_sensor(q, COMMANDER, f"/sensor/{sensor}", None, "en"),
        "alert console": lambda q: views.refresh_console(q, COMMANDER, "", "open", "en"),
        "alert console + selected": lambda q: views.refresh_console(
            q, COMMANDER, f"?alert={alert_id}", "all", "en"
        ),
        "alarm (every page)": lambda q: views.refresh_alarm(q, COMMANDER, "en"),
        "case list": lambda q: views.refresh_cases(q, COMMANDER, "open", "en"),
        "case detail": lambda q: views.refresh_case(q, COMMANDER, f"/case/{case_id}", "en"),
        "data quality": lambda q: views.refresh_quality(
            q, COMMANDER, "en", int(time.time() * 1000)
        ),
        "overview": lambda q: callbacks.refresh_overview(q, COMMANDER, "pm25"),
        **_scorecard_views(grid),
    }


def _scorecard_views(grid: str) -> dict[str, Callable[[Any], object]]:
    return {
        "scorecard city": lambda q: views.refresh_scorecard(q, COMMANDER, "/scorecard", "", "en"),
        "scorecard district": lambda q: views.refresh_scorecard(
            q, COMMANDER, "/scorecard/district/D1", "", "en"
        ),
        "scorecard district (D1 op.)": lambda q: views.refresh_scorecard(
            q, OPERATOR, "/scorecard", "", "en"
        ),
        "scorecard grid cell": lambda q: views.refresh_scorecard(
            q, COMMANDER, f"/scorecard/grid/{grid}", "", "zh"
        ),
    }


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def time_views(
    settings: CommonSettings, seeded: dict[str, str], runs: int, scorecard_only: bool = False
) -> list[str]:
    queries = TimedQueries(ClickHouseQueries(lambda: connect(settings)))
    lines = [f"{'view (data callback)':<30} {'p50 ms':>8} {'p95 ms':>8} {'queries p50':>12}"]
    chosen = _scorecard_views(seeded["grid"]) if scorecard_only else _views(seeded)
    for name, view in chosen.items():
        view(queries)  # warm: connections, the area tree cache
        totals, spent = [], []
        for _ in range(runs):
            queries.spent = 0.0
            started = time.perf_counter()
            view(queries)
            totals.append((time.perf_counter() - started) * 1000)
            spent.append(queries.spent * 1000)
        lines.append(
            f"{name:<30} {statistics.median(totals):8.1f} "
            f"{_percentile(totals, 0.95):8.1f} {statistics.median(spent):12.1f}"
        )
    return lines


def _wait_for_merges(settings: CommonSettings, limit_s: float = 120) -> None:
    client = connect(settings)
    deadline = time.monotonic() + limit_s
    try:
        while time.monotonic() < deadline:
            merging = client.execute(
                "SELECT count() FROM system.merges WHERE database = %(db)s",
                {"db": settings.clickhouse_database},
            )[0][0]
            if not merging:
                return
            time.sleep(1)
    finally:
        client.disconnect()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30, help="days of roll-ups (all levels)")
    parser.add_argument("--grid-days", type=int, default=7, help="days of grid-cell roll-ups")
    parser.add_argument("--sensors-per-cell", type=float, default=34.0)
    parser.add_argument("--runs", type=int, default=20, help="timed runs per view")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--scorecard-only", action="store_true", help="fill and time the scorecard views only"
    )
    args = parser.parse_args(argv)
    settings = load(CommonSettings, clickhouse_database=f"cbbench_{uuid.uuid4().hex[:8]}")
    city = build_city(seed=42, sensors_per_cell=args.sensors_per_cell)
    sensors = sum(1 for s in city.sources if s.family.value != "case")
    _say(
        f"bench_dashboard: {sensors:,} sensors ({len(city.sources):,} sources), "
        f"{len(city.level('grid'))} grid cells, database {settings.clickhouse_database}"
    )
    ensure_schema(settings)
    try:
        started = time.perf_counter()
        filler = Filler(settings, city, int(time.time()))
        counts = filler.run(args.days, args.grid_days, args.scorecard_only)
        fill_s = time.perf_counter() - started
        _wait_for_merges(settings)
        seeded = _pick(settings, city, args.scorecard_only)
        lines = time_views(settings, seeded, args.runs, args.scorecard_only)
    finally:
        if not args.keep:
            drop_database(settings, settings.clickhouse_database)
    kept = (
        "indicators only (no roll-ups)"
        if args.scorecard_only
        else f"{args.days} days of roll-ups ({args.grid_days} for grid cells)"
    )
    print(
        f"data set: {sensors:,} sensors in {len(city.level('grid'))} grid cells; "
        f"{kept}; filled in {fill_s:.0f} s"
    )
    print("rows: " + ", ".join(f"{table} {n:,}" for table, n in counts.items()))
    print(f"{args.runs} runs per view after one warm-up; ClickHouse {_version(settings)}")
    print("\n".join(lines))
    return 0


def _pick(settings: CommonSettings, city: CityModel, no_alerts: bool = False) -> dict[str, str]:
    """A busy cell of D1, one of its sensors, an alert with a trail, a case."""
    client = connect(settings)
    try:
        alert = (
            [("",)]
            if no_alerts
            else client.execute(
                "SELECT alert_id FROM alerts_current FINAL WHERE version = 2 LIMIT 1"
            )
        )
    finally:
        client.disconnect()
    grid = next(a.code for a in city.level("grid") if a.code.startswith("D1-"))
    sensor = next(
        s.source_id for s in city.sources if s.location.grid == grid and s.family.value != "case"
    )
    street = grid.rsplit("-", 1)[0]
    return {
        "grid": grid,
        "street": street,
        "sensor": sensor,
        "alert": alert[0][0],
        "case": "case-17",
    }


def _version(settings: CommonSettings) -> str:
    client = connect(settings, database="")
    try:
        return str(client.execute("SELECT version()")[0][0])
    finally:
        client.disconnect()


if __name__ == "__main__":
    raise SystemExit(main())
