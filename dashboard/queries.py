"""What the command center reads from ClickHouse: one interface, the SQL, and a fake.

Every method runs on every refresh, so each reads only the newest slice of a table: the
roll-up queries find the newest window first (from the newest day partition), then read a
few minutes before it by primary key. "Newest" is event time, never the wall clock, so a
replay of past data shows as live.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError

from detectors.city import Area, Ring


class QueryError(RuntimeError):
    """The data source did not answer a query; the page shows it instead of crashing."""


@dataclass(frozen=True, slots=True)
class CityShapes:
    """The city outline and its districts' geometry, for the map."""

    city: Area | None
    districts: tuple[Area, ...]


@dataclass(frozen=True, slots=True)
class DistrictRollup:
    """One district's newest 1-minute roll-up of one metric, summed over source partitions."""

    district: str
    metric: str
    window_start: datetime
    count: int
    mean: float
    minimum: float
    maximum: float


@dataclass(frozen=True, slots=True)
class RatePoint:
    """How many valid events the whole city produced in one minute (event time)."""

    window_start: datetime
    count: int

    @property
    def per_second(self) -> float:
        return self.count / 60.0


@dataclass(frozen=True, slots=True)
class DeadLetterCounts:
    """Messages that could not be used: the total and the count per reason, largest first."""

    total: int
    by_reason: tuple[tuple[str, int], ...]


class Queries(Protocol):
    """The read side of the command center. Implementations raise QueryError when the
    data source fails."""

    def district_shapes(self) -> CityShapes: ...

    def latest_district_rollups(self, minutes: int = 10) -> list[DistrictRollup]: ...

    def event_rate(self, minutes: int = 30) -> list[RatePoint]: ...

    def dead_letter_counts(self) -> DeadLetterCounts: ...


_SHAPES_SQL = """
SELECT level, code, parent, name, name_zh, ring
FROM areas FINAL
WHERE level IN %(levels)s
ORDER BY level, code
"""

_NEWEST_DAY_SQL = """
SELECT max(toUInt32OrZero(partition))
FROM system.parts
WHERE database = currentDatabase() AND table = 'rollups_1m' AND active
"""

_NEWEST_WINDOW_SQL = """
SELECT toUInt32(max(window_start)), count()
FROM rollups_1m
WHERE level = %(level)s AND window_start >= toDateTime(%(since)s)
"""

# FINAL keeps the newest version of each partition's row; the roll-up of a minute is then
# the sum over source partitions. The outer query keeps each key's newest minute.
_LATEST_ROLLUPS_SQL = """
SELECT key, metric, toUInt32(max(window_start)),
       argMax(total_cnt, window_start), argMax(total_sum, window_start),
       argMax(lowest, window_start), argMax(highest, window_start)
FROM (
    SELECT key, metric, window_start,
           sum(cnt) AS total_cnt, sum(sum) AS total_sum,
           min(min) AS lowest, max(max) AS highest
    FROM rollups_1m FINAL
    WHERE level = %(level)s
      AND window_start >= toDateTime(%(since)s) AND window_start <= toDateTime(%(until)s)
    GROUP BY key, metric, window_start
)
GROUP BY key, metric
ORDER BY key, metric
"""

_EVENT_RATE_SQL = """
SELECT toUInt32(window_start), sum(cnt)
FROM rollups_1m FINAL
WHERE level = %(level)s
  AND window_start >= toDateTime(%(since)s) AND window_start <= toDateTime(%(until)s)
GROUP BY window_start
ORDER BY window_start
"""

_DEAD_LETTERS_SQL = """
SELECT reason, count() AS n
FROM dead_letters FINAL
GROUP BY reason
ORDER BY n DESC, reason
"""

_QUERY_SETTINGS = {"max_execution_time": 10}


class ClickHouseQueries:
    """Queries against the citybrain schema. ``client_factory`` returns a clickhouse-driver
    client whose default database is the citybrain one (``infra.clickhouse.connect``)."""

    def __init__(self, client_factory: Callable[[], Client], pool_size: int = 4) -> None:
        self.client_factory = client_factory
        self.pool_size = pool_size
        self._idle: list[Client] = []
        self._lock = threading.Lock()

    def district_shapes(self) -> CityShapes:
        rows = self._execute(_SHAPES_SQL, {"levels": ("city", "district")})
        areas = [_area(*row) for row in rows]
        city = next((a for a in areas if a.level == "city"), None)
        return CityShapes(city, tuple(a for a in areas if a.level == "district"))

    def latest_district_rollups(self, minutes: int = 10) -> list[DistrictRollup]:
        newest = self._newest_window("district")
        if newest is None:
            return []
        rows = self._execute(_LATEST_ROLLUPS_SQL, _window_params("district", newest, minutes))
        return [_district_rollup(*row) for row in rows]

    def event_rate(self, minutes: int = 30) -> list[RatePoint]:
        newest = self._newest_window("city")
        if newest is None:
            return []
        rows = self._execute(_EVENT_RATE_SQL, _window_params("city", newest, minutes))
        return [RatePoint(_utc(ts), int(count)) for ts, count in rows]

    def dead_letter_counts(self) -> DeadLetterCounts:
        rows = self._execute(_DEAD_LETTERS_SQL)
        by_reason = tuple((str(reason), int(n)) for reason, n in rows)
        return DeadLetterCounts(sum(n for _, n in by_reason), by_reason)

    def _newest_window(self, level: str) -> int | None:
        """Epoch seconds of the newest window at ``level``: looked up in the newest day
        partition first, so the usual case reads one day, not the whole table."""
        day = self._execute(_NEWEST_DAY_SQL)[0][0]
        for since in (_day_start(day), 0):
            newest, rows = self._execute(_NEWEST_WINDOW_SQL, {"level": level, "since": since})[0]
            if rows:
                return int(newest)
        return None

    def _execute(self, sql: str, params: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            with self._client() as client:
                rows = client.execute(sql, params, settings=_QUERY_SETTINGS)
        except (DriverError, OSError, EOFError) as exc:
            raise QueryError(describe_error(exc)) from exc
        return list(rows)

    @contextmanager
    def _client(self) -> Iterator[Client]:
        """A client of the idle pool: one connection serves one query at a time, and Dash
        runs callbacks in several threads."""
        with self._lock:
            client = self._idle.pop() if self._idle else None
        client = client or self.client_factory()
        try:
            yield client
        except BaseException:
            client.disconnect()
            raise
        with self._lock:
            keep = len(self._idle) < self.pool_size
            if keep:
                self._idle.append(client)
        if not keep:
            client.disconnect()


def describe_error(exc: BaseException, limit: int = 300) -> str:
    """One short line for an operator: the server's message without its stack trace."""
    text = str(exc).split("Stack trace:")[0]
    line = " ".join(text.split()).rstrip(".") or type(exc).__name__
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _window_params(level: str, newest: int, minutes: int) -> dict[str, Any]:
    return {"level": level, "since": newest - 60 * (max(minutes, 1) - 1), "until": newest}


def _day_start(yyyymmdd: int) -> int:
    """Epoch seconds of a day partition's midnight UTC (0 when there is no partition)."""
    if not yyyymmdd:
        return 0
    day = datetime.strptime(str(yyyymmdd), "%Y%m%d").replace(tzinfo=UTC)
    return int(day.timestamp())


def _utc(epoch_s: int) -> datetime:
    return datetime.fromtimestamp(int(epoch_s), UTC)


def _area(level: str, code: str, parent: str, name: str, name_zh: str, ring: str) -> Area:
    return Area(level, code, parent, name, name_zh, parse_ring(ring))


def parse_ring(text: str) -> Ring:
    """A ring from its JSON text ``[[lon, lat], ...]``; empty when the text is not one."""
    try:
        points = json.loads(text)
        return tuple((float(lon), float(lat)) for lon, lat in points)
    except (ValueError, TypeError):
        return ()


def _district_rollup(
    key: str, metric: str, ts: int, cnt: int, total: float, low: float, high: float
) -> DistrictRollup:
    mean = total / cnt if cnt else float("nan")
    return DistrictRollup(key, metric, _utc(ts), int(cnt), mean, float(low), float(high))


def _square(lon: float, lat: float, size: float) -> Ring:
    return ((lon, lat), (lon + size, lat), (lon + size, lat + size), (lon, lat + size), (lon, lat))


_FAKE_T0 = datetime(2025, 11, 26, 8, 0, tzinfo=UTC)


def _fake_shapes() -> CityShapes:
    city = Area("city", "CB", "", "Citybrain", "城脑市", _square(120.0, 30.0, 0.2))
    corners = ((120.0, 30.0), (120.1, 30.0), (120.0, 30.1), (120.1, 30.1))
    districts = tuple(
        Area("district", f"D{i}", "CB", f"District {i}", f"第{i}区", _square(lon, lat, 0.1))
        for i, (lon, lat) in enumerate(corners, 1)
    )
    return CityShapes(city, districts)


def _fake_rollups() -> list[DistrictRollup]:
    t = _FAKE_T0 + timedelta(minutes=29)
    return [
        DistrictRollup("D1", "pm25", t, 120, 35.0, 12.0, 80.0),
        DistrictRollup("D2", "pm25", t, 100, 75.5, 30.0, 160.0),
        DistrictRollup("D3", "pm25", t - timedelta(minutes=2), 90, 20.0, 5.0, 41.0),
        DistrictRollup("D1", "water_level", t, 60, 3.4, 3.1, 3.9),
    ]


def _fake_rates() -> list[RatePoint]:
    return [RatePoint(_FAKE_T0 + timedelta(minutes=m), 6000 + 30 * m) for m in range(30)]


def _fake_dead_letters() -> DeadLetterCounts:
    return DeadLetterCounts(7, (("out_of_range", 4), ("bad_json", 2), ("unknown_source", 1)))


@dataclass
class FakeQueries:
    """Canned answers for tests and demos; ``error`` makes every method raise it."""

    shapes: CityShapes = field(default_factory=_fake_shapes)
    rollups: Sequence[DistrictRollup] = field(default_factory=_fake_rollups)
    rates: Sequence[RatePoint] = field(default_factory=_fake_rates)
    dead_letters: DeadLetterCounts = field(default_factory=_fake_dead_letters)
    error: Exception | None = None

    @classmethod
    def empty(cls) -> FakeQueries:
        """A data source that answers but holds nothing yet."""
        return cls(CityShapes(None, ()), [], [], DeadLetterCounts(0, ()))

    def district_shapes(self) -> CityShapes:
        self._fail()
        return self.shapes

    def latest_district_rollups(self, minutes: int = 10) -> list[DistrictRollup]:
        self._fail()
        return list(self.rollups)

    def event_rate(self, minutes: int = 30) -> list[RatePoint]:
        self._fail()
        return list(self.rates)

    def dead_letter_counts(self) -> DeadLetterCounts:
        self._fail()
        return self.dead_letters

    def _fail(self) -> None:
        if self.error is not None:
            raise self.error
