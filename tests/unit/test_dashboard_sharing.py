"""Refresh answers shared between screens: once per key and moment, never across viewers."""

from __future__ import annotations

import threading
import time

import orjson
import pytest
from dash import Input, Output, no_update
from plotly.io.json import to_json_plotly as to_json

from dashboard import callbacks, ids, views
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from dashboard.sharing import SharedAnswers, encoded
from tests.dashboard_fake import FakeQueries


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_serves_its_key_until_it_is_ttl_old() -> None:
    clock, computed = Clock(), []
    shared = SharedAnswers(ttl_s=1.0, clock=clock)

    def ask(key: str) -> str:
        return str(shared.get(key, lambda: computed.append(key) or f"{key}@{clock.now}"))

    assert ask("a") == "a@0.0" and ask("a") == "a@0.0" and ask("b") == "b@0.0"
    clock.now = 0.99
    assert ask("a") == "a@0.0"
    clock.now = 1.0
    assert ask("a") == "a@1.0"
    assert computed == ["a", "b", "a"]


def test_many_asking_at_once_compute_once() -> None:
    shared, calls, gate = SharedAnswers(ttl_s=5.0), [], threading.Event()

    def slow() -> str:
        calls.append(1)
        gate.wait(5)
        return "overview"

    answers: list[object] = []
    threads = [threading.Thread(target=lambda: answers.append(shared.get("k", slow)))
               for _ in range(20)]  # fmt: skip
    for thread in threads:
        thread.start()
    time.sleep(0.2)  # all twenty are asking while the first computes
    gate.set()
    for thread in threads:
        thread.join(5)
    assert answers == ["overview"] * 20 and len(calls) == 1


def test_a_failed_answer_is_not_kept() -> None:
    shared = SharedAnswers(ttl_s=5.0)

    def broken() -> str:
        raise RuntimeError("ClickHouse is away")

    with pytest.raises(RuntimeError):
        shared.get("k", broken)
    assert shared.get("k", lambda: "back") == "back"


def test_no_ttl_shares_nothing_and_old_answers_make_room() -> None:
    calls: list[int] = []
    off = SharedAnswers(ttl_s=0.0)
    off.get("k", lambda: calls.append(1))
    off.get("k", lambda: calls.append(1))
    assert len(calls) == 2
    small = SharedAnswers(ttl_s=5.0, size=2)
    for key in "abc":
        small.get(key, lambda key=key: key)
    assert small.get("a", lambda: "again") == "again"  # "a" made room for "c"


def test_a_refresh_is_shared_by_the_same_viewer_only_whatever_its_counter() -> None:
    calls: list[tuple[int, str]] = []
    row = callbacks.Callback(
        (Output("map", "children"),),
        (Input("tick", "n_intervals"), Input("metric", "value")),
        lambda tick, metric: calls.append((tick, metric)) or metric,
        shared=True,
    )
    viewer = [Scope(Role.WALL_SCREEN, "", "wall")]
    answer = callbacks._shared(
        callbacks._answer(row), 0, row, lambda: viewer[0], SharedAnswers(ttl_s=60.0)
    )
    assert [answer(1, "pm25"), answer(2, "pm25")] == ["pm25", "pm25"]  # another tick: shared
    answer(3, "no2")  # other page values: its own
    viewer[0] = Scope(Role.DISTRICT_OPERATOR, "D1", "operator-d1")
    answer(4, "pm25")  # another viewer: its own
    assert calls == [(1, "pm25"), (3, "no2"), (4, "pm25")]


def test_every_periodic_refresh_of_the_table_is_shared_and_no_action_is() -> None:
    wiring = callbacks.Wiring(scope_of=lambda: Scope(Role.CITY_COMMANDER), sender=RecordingSender())
    for row in callbacks.table(FakeQueries(), wiring):
        periodic = any(d.component_property == "n_intervals" for d in row.reads)
        replay_clock = any(d.component_id == ids.REPLAY_TICK for d in row.reads)
        assert row.shared == (periodic and not replay_clock), row.outputs


def test_while_an_answer_is_recomputed_the_others_get_the_previous_one() -> None:
    clock = Clock()
    shared, gate, started = SharedAnswers(ttl_s=1.0, clock=clock), threading.Event(), []
    assert shared.get("k", lambda: "old") == "old"
    clock.now = 2.0  # expired

    def slow() -> str:
        started.append(1)
        gate.wait(5)
        return "new"

    first: list[object] = []
    computing = threading.Thread(target=lambda: first.append(shared.get("k", slow)))
    computing.start()
    while not started:
        time.sleep(0.01)
    assert shared.get("k", lambda: "never") == "old"  # does not wait, does not compute
    gate.set()
    computing.join(5)
    assert first == ["new"] and shared.get("k", lambda: "never") == "new"


def test_an_encoded_answer_is_the_json_dash_would_have_written() -> None:
    wall = Scope(Role.WALL_SCREEN, "", "wall")
    answer = lambda: callbacks.refresh_overview(FakeQueries(), wall, "pm25", "zh")  # noqa: E731
    plain, kept = answer(), encoded(answer, several=True)()
    assert isinstance(kept, tuple) and len(kept) == len(plain)
    assert all(isinstance(value, orjson.Fragment) for value in kept)
    response = {"multi": True, "response": {"city": {"figure": plain[1]}, "all": list(plain)}}
    again = {"multi": True, "response": {"city": {"figure": kept[1]}, "all": list(kept)}}
    assert to_json(again) == to_json(response)
    assert "\\u003c" in to_json(again)  # HTML escapes written once, as before


def test_an_unchanged_output_stays_unchanged_when_encoded() -> None:
    several = encoded(lambda: (no_update, ["x"]), several=True)()
    assert several[0] is no_update and to_json(several[1]) == '["x"]'
    assert encoded(lambda: no_update, several=False)() is no_update
    assert to_json(encoded(lambda: ("a", 1), several=False)()) == '["a",1]'


def test_the_fast_encoder_writes_plotlys_json_byte_for_byte() -> None:
    import datetime
    import decimal

    import numpy as np
    import pandas as pd
    import plotly.graph_objects as go
    from dash import dcc, html

    from dashboard.sharing import to_json as fast

    operator = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
    values = [
        html.Div(["a</b> & \u2028", dcc.Link("x", href="/a/b")], className="c"),
        np.arange(5), np.arange(10)[::2], np.float64(1.5), pd.Series([1.0, np.nan]),
        decimal.Decimal("1.5"), datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
        go.Figure(go.Scatter(x=[1, 2], y=[3, 4])), {1: "a", "k": (1, 2)}, float("nan"),
        callbacks.refresh_overview(FakeQueries(), operator, "pm25", "en"),
        views.refresh_cases(FakeQueries(), operator, "all", "zh"),
        views.refresh_tier(FakeQueries(), operator, "/district/D1", "", "en"),
    ]  # fmt: skip
    for value in values:
        assert fast(value).decode() == to_json(value)
    with pytest.raises(TypeError):
        fast(object())  # what plotly cannot write either


def test_the_case_list_is_shared_by_viewers_alike_in_district_and_department() -> None:
    asked: list[Scope] = []

    class Counting(FakeQueries):
        def case_clock(self, scope: Scope) -> int:
            asked.append(scope)
            return super().case_clock(scope)

    viewer = [Scope(Role.CITY_COMMANDER, "", "commander")]
    wiring = callbacks.Wiring(scope_of=lambda: viewer[0], sender=RecordingSender())
    row = next(r for r in callbacks.table(Counting(), wiring) if r.outputs[0].component_id
               == ids.CASES_STATUS)  # fmt: skip
    answer = callbacks._shared(
        callbacks._answer(row), 0, row, lambda: viewer[0], SharedAnswers(ttl_s=60.0)
    )
    first = answer(1, "open", "en")
    viewer[0] = Scope(Role.EMERGENCY_STAFF, "", "emergency")  # the whole city too
    assert answer(2, "open", "en") is first and len(asked) == 1
    for other in (
        Scope(Role.DISTRICT_OPERATOR, "D1", "li"),  # another district
        Scope(Role.CITY_COMMANDER, "", "zhao", "water"),
    ):  # another department
        viewer[0] = other
        assert answer(3, "open", "en") is not first
    assert [s.username for s in asked] == ["commander", "li", "zhao"]
