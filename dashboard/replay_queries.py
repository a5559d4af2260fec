"""What the replay page reads: the finished replays of the live namespace (its ``replays``
table) and, from a replay's own database, its areas, alert events, stage changes, roll-ups
and the alerts its charts mark; each within the viewer's scope, filtered in SQL.

A replay's database name is used as an identifier in SQL, so it is used only when it is
the one the live ``replays`` table lists for that replay and looks like a replay database
(``replay_<name>``); every value goes to the server as a parameter.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from clickhouse_driver import Client
from clickhouse_driver.errors import Error as DriverError

from dashboard import rows, sql
from dashboard.model import AlertRow, AreaTree, QueryError, RollupPoint
from dashboard.replay_state import ReplayEvent, StagePoint
from dashboard.rows import describe_error
from dashboard.scope import SCOPE_FILTER, Scope, ScopeError
from detectors.contract.city import Area
from detectors.contract.places import location_of

DATABASE_PATTERN = re.compile(r"^replay_[a-z0-9_]{1,40}$")
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,40}$")

FINISHED = """
SELECT name, status, from_ms, to_ms, database
FROM replays FINAL
WHERE status = 'finished'
ORDER BY name
LIMIT 1000
"""

ONE_REPLAY = """
SELECT name, status, from_ms, to_ms, database
FROM replays FINAL
WHERE name = %(name)s
"""

EVENTS = f"""
SELECT ts_ms, kind, alert_id, incident_id, level, level_rank, category,
       district, street, grid, reason
FROM {{db}}.alert_events FINAL
WHERE ts_ms <= %(until_ms)s AND {SCOPE_FILTER}
ORDER BY ts_ms, event_id
LIMIT %(limit)s
"""

STAGES = """
SELECT level, code, ts_ms, stage, reason
FROM {db}.stage_changes FINAL
WHERE level = %(level)s AND ts_ms <= %(until_ms)s
  AND (%(scope_all)s = 1 OR code = %(scope_district)s)
ORDER BY ts_ms
LIMIT %(limit)s
"""

ROLLUPS = """
SELECT toUInt32(window_start), family, metric, sum(cnt), sum(sum), min(min), max(max)
FROM {db}.rollups_1m FINAL
WHERE level = %(level)s AND key = %(code)s
GROUP BY window_start, family, metric
ORDER BY window_start, family, metric
LIMIT %(limit)s
"""
"""An area's roll-ups per minute and metric, summed over source partitions (FINAL: each
partition's newest cumulative row)."""

_QUERY_SETTINGS = {"max_execution_time": 10}


@dataclass(frozen=True, slots=True)
class ReplayInfo:
    """A replay as the live ``replays`` table lists it."""

    name: str
    status: str
    from_ms: int
    to_ms: int
    database: str

    @property
    def finished(self) -> bool:
        return self.status == "finished"


class BadReplay(ValueError):
    """A replay whose database name cannot be trusted as an SQL identifier."""


def checked_database(info: ReplayInfo) -> str:
    """The replay's database name, or BadReplay when it is not a replay database."""
    if not DATABASE_PATTERN.match(info.database):
        raise BadReplay(f"replay {info.name!r} names no valid database ({info.database!r})")
    return info.database


class ReplayQueries:
    """Reads for the replay page. ``client_factory`` returns a client whose default
    database is the live one (``infra.clickhouse.connect``)."""

    def __init__(self, client_factory: Callable[[], Client], event_limit: int = 200_000) -> None:
        self.client_factory = client_factory
        self.event_limit = event_limit

    def finished(self) -> list[ReplayInfo]:
        return [_info(*row) for row in self._execute(FINISHED, {})]

    def replay(self, name: str) -> ReplayInfo | None:
        """The finished replay ``name``, or None when there is none by that name."""
        if not NAME_PATTERN.match(name):
            return None
        found = [_info(*row) for row in self._execute(ONE_REPLAY, {"name": name})]
        return next((r for r in found if r.finished), None)

    def areas(self, info: ReplayInfo, scope: Scope) -> AreaTree:
        text = sql.AREA_TREE.replace("FROM areas FINAL", f"FROM {self._db(info)}.areas FINAL")
        return AreaTree(tuple(rows.area(*row) for row in self._execute(text, scope.sql_params())))

    def events(self, info: ReplayInfo, scope: Scope, until_ms: int) -> list[ReplayEvent]:
        text = EVENTS.format(db=self._db(info))
        params = {"until_ms": int(until_ms), "limit": self.event_limit, **scope.sql_params()}
        return [
            ReplayEvent(int(ts), str(kind), str(a), str(i), str(lv), int(rank), str(cat),
                        str(d), str(s), str(g), str(reason))
            for ts, kind, a, i, lv, rank, cat, d, s, g, reason in self._execute(text, params)
        ]  # fmt: skip

    def stage_changes(
        self, info: ReplayInfo, scope: Scope, until_ms: int, level: str = "district"
    ) -> list[StagePoint]:
        text = STAGES.format(db=self._db(info))
        params = {"level": level, "until_ms": int(until_ms), "limit": self.event_limit,
                  **scope.sql_params()}  # fmt: skip
        return [
            StagePoint(str(lv), str(code), int(ts), int(stage), str(reason))
            for lv, code, ts, stage, reason in self._execute(text, params)
        ]

    def rollups(self, info: ReplayInfo, scope: Scope, area: Area) -> list[RollupPoint]:
        """The area's roll-ups per minute and metric over the whole replay."""
        params = {**_area_params(scope, area), "limit": self.event_limit}
        return [
            RollupPoint(rows.utc(ts), str(family), str(metric), int(n), float(total),
                        float(low), float(high))
            for ts, family, metric, n, total, low, high
            in self._execute(ROLLUPS.format(db=self._db(info)), params)
        ]  # fmt: skip

    def marks(self, info: ReplayInfo, scope: Scope, area: Area, limit: int = 500) -> list[AlertRow]:
        """The alerts and incidents of the area raised during the replay (its
        ``alerts_current``), as the live charts mark an area's."""
        db = self._db(info)
        text = sql.AREA_MARKS.replace(
            "FROM alerts_current FINAL", f"FROM {db}.alerts_current FINAL"
        )
        params = {**_area_params(scope, area), "since_ms": info.from_ms, "limit": int(limit)}
        return [rows.alert(*row) for row in self._execute(text, params)]

    def _db(self, info: ReplayInfo) -> str:
        """The replay's database, checked against the live ``replays`` table again."""
        database = checked_database(info)
        listed = self._execute(ONE_REPLAY, {"name": info.name})
        if not any(_info(*row).database == database for row in listed):
            raise BadReplay(f"replay {info.name!r} does not use database {database!r}")
        return database

    def _execute(self, text: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        try:
            with self._client() as client:
                return list(client.execute(text, params, settings=_QUERY_SETTINGS))
        except (DriverError, OSError, EOFError) as exc:
            raise QueryError(describe_error(exc)) from exc

    @contextmanager
    def _client(self) -> Iterator[Client]:
        client = self.client_factory()
        try:
            yield client
        finally:
            client.disconnect()


def _area_params(scope: Scope, area: Area) -> dict[str, Any]:
    """The SQL parameters of an area the viewer may see (ScopeError otherwise): the whole
    city for a city-wide viewer, their district (or below it) for the others."""
    if area.level == "city":
        if not scope.city_wide:
            raise ScopeError("city", area.code, scope.district)
    else:
        scope.require_district(location_of(area.code, "").district, area.level, area.code)
    return {"level": area.level, "code": area.code, **scope.sql_params()}


def _info(name: Any, status: Any, from_ms: Any, to_ms: Any, database: Any) -> ReplayInfo:
    return ReplayInfo(str(name), str(status), int(from_ms), int(to_ms), str(database))
