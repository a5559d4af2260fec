"""The silences page and the console's silenced mark: who may make, expire and delete a
silence (nothing is sent otherwise), what the list shows, and a silenced alert in the
console (marked, never alarming)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from dashboard import ids, router, views
from dashboard.model import SilenceRow
from dashboard.pages import console
from dashboard.pages import silences as page
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from detectors.contract.actions import validate_action
from tests.dashboard_fake import T0_MS, FakeQueries
from tests.unit.test_dashboard_pages import texts, walk

HOUR = 3_600_000
COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
FORM = page.SilenceForm("street", "D1-S2", None, "water_level", "", 2, "pump works")


def new_ids() -> Any:
    counter = iter(range(100))
    return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"


def submit(
    scope: Scope, trigger: str, form: page.SilenceForm = FORM, pick: str = "s-1",
    queries: FakeQueries | None = None,
) -> Any:  # fmt: skip
    sender = RecordingSender()
    known = queries or FakeQueries(silenced=[silence("s-1", "D1", T0_MS - HOUR, T0_MS + HOUR)])
    answer = page.submit(known, sender, scope, trigger, form, pick, "en", T0_MS, new_ids())
    return sender.sent, answer[0]


def test_an_operator_creates_a_silence_through_the_action_contract() -> None:
    sent, answer = submit(OPERATOR_D1, ids.SILENCE_CREATE)
    [message] = sent
    assert validate_action(message) == message
    assert (message["action"], message["scope"], message["value"], message["metric"]) == (
        "create_silence", "street", "D1-S2", "water_level"
    )  # fmt: skip
    # "now" reaches back a little: the worker judges readings by their (trailing) event time
    start = T0_MS - page.LATE_MS
    assert (message["start_ms"], message["end_ms"]) == (start, start + 2 * HOUR)
    assert (message["actor"], message["district"]) == ("li", "D1")
    assert "sent: create silence" in answer.children


def test_a_start_time_is_read_as_utc() -> None:
    form = dataclasses.replace(FORM, start="2030-01-02 03:04", hours=0.5)
    [message], _ = submit(COMMANDER, ids.SILENCE_CREATE, form)
    assert message["start_ms"] == 1_893_553_440_000
    assert message["end_ms"] - message["start_ms"] == HOUR // 2


@pytest.mark.parametrize(
    ("scope", "trigger", "form", "problem"),
    [
        (Scope(Role.ENGINEER, "", "ana"), ids.SILENCE_CREATE, FORM, "may not create silences"),
        (Scope(Role.WALL_SCREEN, "", "tv"), ids.SILENCE_EXPIRE, FORM, "may not expire silences"),
        (Scope(Role.EMERGENCY_STAFF, "", "zhao"), ids.SILENCE_DELETE, FORM,
         "may not delete silences"),
        (OPERATOR_D1, ids.SILENCE_CREATE, dataclasses.replace(FORM, value="D2-S1"),
         "outside your district"),
        (COMMANDER, ids.SILENCE_CREATE, dataclasses.replace(FORM, hours=0), "hours must be"),
        (COMMANDER, ids.SILENCE_CREATE, dataclasses.replace(FORM, start="tomorrow"),
         "start must be"),
        (COMMANDER, ids.SILENCE_CREATE, dataclasses.replace(FORM, reason=""), "needs a reason"),
    ],
)  # fmt: skip
def test_what_may_not_be_done_is_refused_and_nothing_is_sent(
    scope: Scope, trigger: str, form: page.SilenceForm, problem: str
) -> None:
    sent, answer = submit(scope, trigger, form)
    assert sent == []
    assert problem in answer.children and answer.className == "action-refused"


def test_expire_and_delete_name_the_picked_silence() -> None:
    [expire], _ = submit(Scope(Role.EMERGENCY_STAFF, "", "zhao"), ids.SILENCE_EXPIRE)
    [delete], _ = submit(COMMANDER, ids.SILENCE_DELETE)
    assert (expire["action"], expire["silence_id"]) == ("expire_silence", "s-1")
    assert (delete["action"], delete["silence_id"]) == ("delete_silence", "s-1")
    assert submit(COMMANDER, ids.SILENCE_DELETE, pick="")[0] == []


def silence(silence_id: str, district: str, start: int, end: int, status: str = "active") -> Any:
    return SilenceRow(silence_id, status, start, "street", "D1-S2", "", "water_level", district,
                      start, end, "pump works", "li", start, "li")  # fmt: skip


def test_the_list_shows_each_silence_and_the_picker_only_those_not_over() -> None:
    queries = FakeQueries(silenced=[
        silence("live-1", "D1", T0_MS - HOUR, T0_MS + HOUR),
        silence("later-1", "", T0_MS + HOUR, T0_MS + 2 * HOUR),
        silence("over-1", "D1", T0_MS - 2 * HOUR, T0_MS - HOUR),
        silence("gone-1", "D1", T0_MS - HOUR, T0_MS + HOUR, status="deleted"),
        silence("other-1", "D2", T0_MS - HOUR, T0_MS + HOUR),
    ])  # fmt: skip
    status, listed, options = page.refresh(queries, OPERATOR_D1, "en", T0_MS)
    shown = texts(listed)
    assert {"active", "pending", "expired", "deleted"} <= set(shown)
    assert not any("other-1"[:8] in text for text in shown)  # another district's silence
    assert sorted(o["value"] for o in options) == ["later-1", "live-1"]


def test_a_role_that_may_not_act_sees_the_list_and_no_form() -> None:
    engineer = router.render(FakeQueries(), Scope(Role.ENGINEER, "", "ana"), "/silences", "",
                             "en", router.PageSettings())[1]  # fmt: skip
    assert "read-only: this role does not make or end silences" in texts(engineer)
    buttons = [c for c in walk(engineer) if getattr(c, "id", None) == ids.SILENCE_CREATE]
    assert buttons and buttons[0].disabled is True
    wall = router.render(FakeQueries(), Scope(Role.WALL_SCREEN, "", "tv"), "/silences", "",
                         "en", router.PageSettings())[1]  # fmt: skip
    assert "may not open this page" in str(wall)
    commander = router.render(FakeQueries(), COMMANDER, "/silences", "", "en",
                              router.PageSettings())[1]  # fmt: skip
    create = [c for c in walk(commander) if getattr(c, "id", None) == ids.SILENCE_CREATE]
    assert create[0].disabled is False


def test_a_silenced_alert_is_marked_in_the_console_and_never_alarms() -> None:
    fake = FakeQueries()
    loud = next(a for a in fake.alerts if a.alarming)
    muted = dataclasses.replace(loud, evidence={**loud.evidence, "silence_id": "s-1"})
    assert muted.silenced and not muted.alarming
    listed = console.alert_list([muted], "", "en", False)
    assert "silenced" in texts(listed)
    assert "silenced" in str(listed) and "alarm" not in str(listed.children[1])
    queries = FakeQueries(alerts=[muted])
    assert views.refresh_alarm(queries, COMMANDER, "en") == ([], [])


@pytest.mark.parametrize(
    ("scope", "known", "problem"),
    [
        (COMMANDER, [], "unknown silence s-1"),
        (COMMANDER, [silence("s-1", "D1", T0_MS - 2 * HOUR, T0_MS - HOUR)], "already expired"),
        (COMMANDER, [silence("s-1", "D1", T0_MS - HOUR, T0_MS + HOUR, "deleted")],
         "already deleted"),
        (OPERATOR_D1, [silence("s-1", "", T0_MS - HOUR, T0_MS + HOUR)],
         "covers more than your district D1"),
    ],
)  # fmt: skip
def test_expiring_a_silence_that_cannot_be_expired_sends_nothing(
    scope: Scope, known: list[SilenceRow], problem: str
) -> None:
    sent, answer = submit(scope, ids.SILENCE_EXPIRE, queries=FakeQueries(silenced=known))
    assert sent == [] and problem in answer.children
