"""ClickHouseQueries without a server: ring parsing, failures, and the connection pool.
The SQL itself is checked against the real server in tests/integration."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from clickhouse_driver.errors import ServerException

from dashboard.queries import (
    ClickHouseQueries,
    FakeQueries,
    QueryError,
    describe_error,
    parse_ring,
)
from dashboard.scope import Role, Scope
from infra.clickhouse import connect
from infra.settings import DashboardSettings, load

COMMANDER = Scope(Role.CITY_COMMANDER, "", "commander")


def test_parse_ring_reads_json_lon_lat_pairs() -> None:
    assert parse_ring("[[120.1, 30.2], [120.3, 30.4], [120.1, 30.2]]") == (
        (120.1, 30.2),
        (120.3, 30.4),
        (120.1, 30.2),
    )


@pytest.mark.parametrize("text", ["", "not json", "[[1]]", "{}", "[[1, 2, 3]]", "null"])
def test_parse_ring_of_bad_text_is_empty(text: str) -> None:
    assert parse_ring(text) == ()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_an_unreachable_server_raises_query_error() -> None:
    settings = load(DashboardSettings, clickhouse_port=_closed_port())
    queries = ClickHouseQueries(lambda: connect(settings))
    with pytest.raises(QueryError, match="Connection refused"):
        queries.dead_letter_counts(COMMANDER)


class _RecordingClient:
    """Stands in for a clickhouse-driver client to watch the pool, not the SQL."""

    def __init__(self, answer: list[tuple[Any, ...]] | Exception) -> None:
        self.answer = answer
        self.disconnected = False

    def execute(self, sql: str, params: object = None, settings: object = None) -> Any:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def disconnect(self) -> None:
        self.disconnected = True


def test_the_pool_reuses_a_client_and_drops_a_broken_one() -> None:
    made: list[_RecordingClient] = []

    def factory() -> Any:
        made.append(_RecordingClient([("bad_json", 2)]))
        return made[-1]

    queries = ClickHouseQueries(factory)
    assert queries.dead_letter_counts(COMMANDER).by_reason == (("bad_json", 2),)
    assert queries.dead_letter_counts(COMMANDER).total == 2
    assert len(made) == 1
    made[0].answer = EOFError("Unexpected EOF while reading bytes")
    with pytest.raises(QueryError, match="Unexpected EOF"):
        queries.dead_letter_counts(COMMANDER)
    assert made[0].disconnected
    queries.dead_letter_counts(COMMANDER)
    assert len(made) == 2


def test_fake_queries_answer_and_fail_on_demand() -> None:
    assert FakeQueries.empty().event_rate(COMMANDER) == []
    assert len(FakeQueries().district_shapes(COMMANDER).districts) == 4
    with pytest.raises(QueryError):
        FakeQueries(error=QueryError("down")).latest_district_rollups(COMMANDER)


def test_an_error_is_described_in_one_line_without_the_stack_trace() -> None:
    exc = ServerException(
        "DB::Exception: Table citybrain.rollups_1m doesn't exist.. Stack trace:\n\n0. /lib/x", 60
    )
    assert (
        describe_error(exc) == "Code: 60. DB::Exception: Table citybrain.rollups_1m doesn't exist"
    )
    assert describe_error(EOFError()) == "EOFError"
    assert len(describe_error(OSError("x" * 1000))) == 300
