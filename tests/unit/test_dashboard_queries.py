"""ClickHouseQueries without a server: ring parsing, failures, the connection pool, and
that every provider answers the queries the protocol declares. The SQL itself is checked
against the real server in tests/integration."""

from __future__ import annotations

import inspect
import socket
from typing import Any

import pytest
from clickhouse_driver.errors import ServerException
from prometheus_client import CollectorRegistry

from dashboard.metrics import DashboardMetrics, InstrumentedQueries
from dashboard.queries import (
    QUERY_NAMES,
    ClickHouseQueries,
    QueryError,
    describe_error,
    parse_ring,
)
from dashboard.query_protocol import signature_of
from dashboard.scope import Role, Scope, ScopeError
from infra.clickhouse import connect
from infra.settings import DashboardSettings, load
from tests.dashboard_fake import FakeQueries

COMMANDER = Scope(Role.CITY_COMMANDER, "", "commander")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")


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
        self.params: list[object] = []

    def execute(self, sql: str, params: object = None, settings: object = None) -> Any:
        self.params.append(params)
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


def _declared(name: str) -> inspect.Signature:
    signature = signature_of(name)
    return signature.replace(parameters=list(signature.parameters.values())[1:])


@pytest.mark.parametrize("name", QUERY_NAMES)
def test_every_provider_answers_each_declared_query_with_its_signature(name: str) -> None:
    providers = [
        ClickHouseQueries(lambda: _RecordingClient([])),
        FakeQueries(),
        InstrumentedQueries(FakeQueries(), DashboardMetrics(CollectorRegistry())),
    ]
    for provider in providers:
        assert inspect.signature(getattr(provider, name)) == _declared(name), provider


def test_a_select_passes_its_arguments_and_the_scope_as_parameters() -> None:
    client = _RecordingClient([])
    queries = ClickHouseQueries(lambda: client)
    assert queries.console_alerts(OPERATOR_D1, ["active"], limit=5) == []
    assert client.params == [
        {"statuses": ("active",), "limit": 5, "scope_all": 0, "scope_district": "D1"}
    ]
    client.answer = [(1_700_000_000_000,)]
    assert queries.case_clock(OPERATOR_D1) == 1_700_000_000_000


class _CasesClient(_RecordingClient):
    """Answers the area tree (a city and its district D1), the case clock and one case."""

    def __init__(self) -> None:
        super().__init__([])
        self.asked: list[str] = []

    def execute(self, sql: str, params: object = None, settings: object = None) -> Any:
        self.asked.append(sql)
        if "SELECT district FROM areas" in sql:
            return [("D1",)]
        if "FROM areas" in sql:  # the tree of the viewer's scope
            d1 = ("district", "D1", "C", "One", "", "")
            mine = isinstance(params, dict) and params["scope_district"] in ("", "D1")
            return [("city", "C", "", "City", "", ""), *([d1] if mine else [])]
        if "max(ts_ms)" in sql and "GROUP BY" not in sql:
            return [(1_700_000_000_000,)]
        if "groupArray" in sql:
            row = ("case-1", "garbage", "C", "D1", "D1-S1", "D1-S1-G1", ["filed"],
                   [1_700_000_000_000], "filed", 1_700_000_000_000, "bin")  # fmt: skip
            return [row]
        return []


def test_an_areas_cases_serve_every_viewer_of_its_scope_for_a_moment() -> None:
    client, clock = _CasesClient(), [0.0]
    queries = ClickHouseQueries(lambda: client, clock=lambda: clock[0], cases_ttl_s=1.0)
    other_d1 = Scope(Role.DISTRICT_OPERATOR, "D1", "wang")
    first = queries.area_cases(OPERATOR_D1, "district", "D1")
    assert [c.case_id for c in first.cases] == ["case-1"]
    asked = len(client.asked)
    assert queries.area_cases(other_d1, "district", "D1") is first  # same scope: kept
    assert len(client.asked) == asked
    assert queries.area_cases(COMMANDER, "district", "D1") is not first  # another scope
    assert queries.area_cases(OPERATOR_D1, "district", "D1", open_only=False) is not first
    clock[0] = 1.0
    assert queries.area_cases(OPERATOR_D1, "district", "D1") is not first  # a moment later
    with pytest.raises(ScopeError):  # the scope is checked before anything kept is given
        queries.area_cases(Scope(Role.DISTRICT_OPERATOR, "D2", "zhao"), "district", "D1")


def test_cases_are_read_afresh_on_every_call_unless_asked_to_be_kept() -> None:
    client = _CasesClient()
    queries = ClickHouseQueries(lambda: client)
    assert queries.area_cases(OPERATOR_D1, "district", "D1") is not queries.area_cases(
        OPERATOR_D1, "district", "D1"
    )
