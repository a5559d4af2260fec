"""The case page's side of case actions: step limits drive overdue and escalation, a
send-back restarts the handling clock, the form shows only what a role may do, and an
action is checked against the case's status before it is sent (and nothing is sent when
it is refused)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from dash import html

from dashboard import ids
from dashboard.model import QueryError
from dashboard.pages import case_actions
from dashboard.pages import cases as cases_page
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from detectors.contract.case_limits import MINUTE_MS, case_steps, escalation, is_overdue, timeline
from tests.dashboard_fake import FakeQueries

H = 60 * MINUTE_MS
OPERATOR = Scope(Role.DISTRICT_OPERATOR, "D1", "li")


def walk(node: Any) -> list[Any]:
    found = [node]
    children = getattr(node, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str | int | float):
            found += walk(child)
    return found


def text_of(nodes: list[Any]) -> str:
    return " ".join(str(n.children) for n in walk(nodes[0]) if isinstance(n.children, str))


@pytest.mark.parametrize(
    ("minutes_after_dispatch", "tier"),
    [(29, ""), (31, "street"), (61, "district"), (121, "city")],
)
def test_an_overdue_case_is_escalated_by_how_far_past_its_limit_it_is(
    minutes_after_dispatch: int, tier: str
) -> None:
    steps = {"filed": 0, "dispatched": 10 * MINUTE_MS}  # acceptance is due within 30 min
    now = 10 * MINUTE_MS + minutes_after_dispatch * MINUTE_MS
    assert escalation("garbage", steps, now) == tier
    assert is_overdue("garbage", steps, now) == bool(tier)


def test_a_tighter_category_limit_escalates_sooner() -> None:
    steps = {"filed": 0}  # a missing manhole cover must be dispatched within 10 min
    assert escalation("manhole_cover", steps, 11 * MINUTE_MS) == "street"
    assert escalation("garbage", steps, 11 * MINUTE_MS) == ""
    assert escalation("manhole_cover", steps, 41 * MINUTE_MS) == "city"


def test_a_case_sent_back_is_handled_again_within_the_limit_from_then() -> None:
    events = [("filed", 0), ("dispatched", 1), ("accepted", 2 * MINUTE_MS),
              ("handled", H), ("sent_back", 6 * H)]  # fmt: skip
    steps = case_steps(reversed(events))  # any order
    assert steps == {"filed": 0, "dispatched": 1, "accepted": 2 * MINUTE_MS, "sent_back": 6 * H}
    handled = next(s for s in timeline("garbage", steps, 7 * H) if s.status == "handled")
    assert (handled.state, handled.due_ms) == ("pending", 10 * H)
    assert not is_overdue("garbage", steps, 7 * H) and is_overdue("garbage", steps, 10 * H + 1)
    again = case_steps([*events, ("handled", 7 * H), ("verified", 7 * H + 1)])
    assert again["handled"] == 7 * H and again["verified"] == 7 * H + 1


def test_the_form_offers_a_roles_case_actions_and_a_wall_only_reads() -> None:
    form = case_actions.action_form(OPERATOR, "zh", wall=False)
    found = {n.id: n for n in walk(form) if getattr(n, "id", None)}
    assert {ids.CASE_ACTION, ids.CASE_DEPARTMENT, ids.CASE_SCORE, ids.CASE_SUBMIT} <= set(found)
    labels = [o["label"] for o in found[ids.CASE_DEPARTMENT].options]
    assert labels == ["城市管理局", "市政", "环卫", "交警支队", "水务局", "供电公司"]
    assert [o["label"] for o in found[ids.CASE_ACTION].options][:2] == ["派遣", "受理"]
    for scope, wall in ((OPERATOR, True), (Scope(Role.ENGINEER), False)):
        shown = case_actions.action_form(scope, "en", wall)
        assert ids.CASE_SUBMIT not in {getattr(n, "id", None) for n in walk(shown)}
        assert "read-only" in text_of([shown])
    page = cases_page.case_layout("C-2", "en", 2000, Scope(Role.WALL_SCREEN), wall=True)
    assert ids.CASE_SUBMIT not in {getattr(n, "id", None) for n in walk(page)}


def _submit(queries: FakeQueries, action: str, scope: Scope = OPERATOR, **form: Any) -> Any:
    sender = RecordingSender()
    fields = (action, form.get("department"), form.get("score"), form.get("comment"))
    answer = case_actions.submit(
        queries, sender, scope, form.get("case_id", "C-2"), fields, "en", 1_000, "act-1"
    )
    return sender.sent, answer[0]


def test_an_action_the_status_allows_is_sent_and_one_it_does_not_is_refused_here() -> None:
    queries = FakeQueries()  # C-2 is accepted, in D1
    sent, answer = _submit(queries, "handle", comment="done")
    assert [(m["action"], m["case_id"], m["actor"]) for m in sent] == [("handle", "C-2", "li")]
    assert answer.className == "action-sent"
    sent, answer = _submit(queries, "close")
    assert sent == [] and answer.className == "action-refused"
    assert "cannot close a case that is accepted" in answer.children
    sent, answer = _submit(queries, "dispatch")  # no department: the contract refuses
    assert sent == [] and "department" in answer.children


def test_a_case_outside_the_scope_or_unknown_gets_nothing_sent() -> None:
    queries = FakeQueries()  # C-3 is in D2
    for case_id in ("C-3", "C-404"):
        sent, answer = _submit(queries, "dispatch", department="water", case_id=case_id)
        assert sent == [] and "nothing sent" in answer.children
    sent, answer = _submit(queries, "accept", Scope(Role.ENGINEER, "", "eng"))
    assert sent == [] and "may not accept" in answer.children
    broken = dataclasses.replace(FakeQueries(), error=QueryError("down"))
    sent, answer = _submit(broken, "handle")
    assert sent == [] and isinstance(answer, html.Div)


def test_the_case_page_says_where_the_case_stands_and_what_may_follow() -> None:
    case = next(c for c in FakeQueries().cases if c.case_id == "C-2")
    shown = cases_page.case_timeline(case, case.last_ms + 60 * MINUTE_MS, "en")
    texts = " ".join(text_of([node]) for node in shown)
    assert "step: accepted" in texts and "next: mark handled" in texts
    late = cases_page.case_timeline(case, case.last_ms + 20 * H, "zh")
    assert "升级至全市指挥中心" in " ".join(text_of([node]) for node in late)


def test_a_step_never_recorded_before_a_later_one_is_skipped_not_overdue() -> None:
    steps = {"filed": 0, "dispatched": 1, "handled": 2 * H}  # from before acceptance existed
    states = {s.status: s.state for s in timeline("garbage", steps, 10 * H)}
    assert states["accepted"] == "skipped" and states["handled"] == "done"
    assert states["verified"] == "overdue"  # an hour from handling
    done = {**steps, "verified": 2 * H + 1, "closed": 2 * H + 2, "evaluated": 2 * H + 3}
    assert not is_overdue("garbage", done, 100 * H) and escalation("garbage", done, 100 * H) == ""


def test_the_case_page_shows_who_did_what_to_the_case() -> None:
    from dashboard import views

    queries = FakeQueries()
    shown = views.refresh_case(queries, OPERATOR, "/case/C-2", "zh")
    trail = next(node for node in shown if getattr(node, "id", None) == "case-trail")
    text = text_of([trail])
    assert "派遣" in text and "环卫" in text and "li (区级值班员)" in text and "请环卫清运" in text
    outside = views.refresh_case(
        queries, Scope(Role.DISTRICT_OPERATOR, "D2", "wu"), "/case/C-2", "en"
    )
    assert "请环卫清运" not in str(outside)
