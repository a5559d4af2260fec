"""The demo drill banner: on every page while a drill runs, in both languages, only in the
viewer's scope, naming the alerts and incidents the drill raised as drill ones."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from dash import Output

from dashboard import ids, rows, views
from dashboard.callbacks import Wiring, table
from dashboard.model import DrillRow, QueryError
from dashboard.scope import Role, Scope
from dashboard.sender import RecordingSender
from dashboard.shell import build_shell, drill_banner
from detectors.contract.places import location_of
from tests.dashboard_fake import T0_MS, FakeQueries

COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
OPERATOR_D1 = Scope(Role.DISTRICT_OPERATOR, "D1", "li")
OPERATOR_D2 = Scope(Role.DISTRICT_OPERATOR, "D2", "zhou")
MIN_MS = 60_000


def flat(value: Any) -> str:
    return json.dumps(value, default=lambda c: c.to_plotly_json(), ensure_ascii=False)


def flood(start_ms: int = T0_MS, minutes: int = 12) -> DrillRow:
    """A flood drill in street D1-S1 ("Hubin"), as the simulator records it."""
    return rows.drill(
        "DR-1234abcd-0000", "flood", "urban flooding", "城市内涝", "Hubin", "湖滨",
        "CB", "D1", "D1-S1", "", start_ms, start_ms + minutes * MIN_MS, ["water_level"],
    )  # fmt: skip


def test_the_banner_names_the_drill_and_its_area_in_both_languages() -> None:
    en = flat(drill_banner([flood()], [], "en"))
    assert "DRILL: urban flooding in Hubin" in en and "not a real incident" in en
    zh = flat(drill_banner([flood()], [], "zh"))
    assert "演练：湖滨城市内涝" in zh and "不是真实事件" in zh
    assert drill_banner([], [], "en") == []


def test_a_case_surge_names_its_grid_cell() -> None:
    surge = rows.drill(
        "DR-1234abcd-0005", "case_surge", "case surge", "案件激增", "Hubin", "湖滨",
        "CB", "D1", "D1-S1", "D1-S1-G02", T0_MS, T0_MS + 12 * MIN_MS, ["case_reports"],
    )  # fmt: skip
    assert "DRILL: case surge in Hubin D1-S1-G02" in flat(drill_banner([surge], [], "en"))


def test_the_banner_marks_the_alerts_the_drill_raised_and_no_others() -> None:
    alerts = FakeQueries().console_alerts(COMMANDER, ("active", "acknowledged"))
    drill = flood()
    mine = {a.alert_id for a in alerts if drill.covers(a)}
    assert mine == {"alert-1", "alert-2"}  # street D1-S1, opened while it ran
    text = flat(drill_banner([drill], alerts, "en"))
    assert "DRILL alert alert-1" in text and "/alerts?alert=alert-1" in text
    assert "alert-3" not in text and "alert-4" not in text  # another street, district
    late = flood(start_ms=T0_MS + 90 * MIN_MS)  # alerts long before it are not its own
    assert not any(late.covers(a) for a in alerts)
    # in its street and time but on a metric it does not bend: another drill's, or real
    one = next(a for a in alerts if a.alert_id == "alert-1")
    assert not drill.covers(replace(one, metric="load"))
    incident = replace(one, subject="incident", metric="")
    assert drill.covers(incident)
    assert "DRILL incident alert-1" in flat(drill_banner([drill], [incident], "en"))


def test_refresh_shows_running_drills_of_the_scope_only() -> None:
    queries = FakeQueries(drills=[flood()])
    during = T0_MS + 5 * MIN_MS
    assert "DRILL: urban flooding in Hubin" in flat(
        views.refresh_drills(queries, COMMANDER, "en", during)
    )
    assert "Hubin" in flat(views.refresh_drills(queries, OPERATOR_D1, "en", during))
    assert views.refresh_drills(queries, OPERATOR_D2, "en", during) == []
    assert views.refresh_drills(queries, COMMANDER, "en", T0_MS - 1) == []
    assert views.refresh_drills(queries, COMMANDER, "en", T0_MS + 12 * MIN_MS) == []
    assert (
        views.refresh_drills(FakeQueries(error=QueryError("down")), COMMANDER, "en", during) == []
    )


def test_every_page_has_the_drill_banner_filled_on_each_refresh() -> None:
    shell = flat(build_shell(5000, "en"))
    assert f'"id": "{ids.DRILL_BANNER}"' in shell
    clock = [(T0_MS + 5 * MIN_MS) / 1000]
    wiring = Wiring(lambda: COMMANDER, RecordingSender(), clock=lambda: clock[0])
    queries = FakeQueries(drills=[flood()])
    [callback] = [
        c for c in table(queries, wiring)
        if Output(ids.DRILL_BANNER, "children") in c.outputs
    ]  # fmt: skip
    assert callable(callback.view) and callback.shared
    assert "DRILL: urban flooding in Hubin" in flat(callback.view(0, "en"))
    clock[0] = (T0_MS + 13 * MIN_MS) / 1000
    assert callback.view(1, "en") == []


def test_a_drill_row_maps_from_the_table() -> None:
    drill = flood()
    assert drill.place == location_of("D1-S1", city="CB")
    assert (drill.kind, drill.title_zh, drill.area_name) == ("flood", "城市内涝", "Hubin")
    assert drill.end_ms - drill.start_ms == 12 * MIN_MS and drill.metrics == ("water_level",)


def test_the_console_marks_drill_alerts_while_their_incident_may_be_open() -> None:
    queries = FakeQueries(drills=[flood()])
    during = T0_MS + 5 * MIN_MS
    view = views.refresh_console(queries, COMMANDER, "", "open", "en", during)
    text = flat(view.alerts)
    # a row's level cell (where the chip goes) comes before its link to ?alert=<id>
    chips = [i for i in range(len(text)) if text.startswith('"drill-chip"', i)]
    marked = sorted(text[i:].split("?alert=", 1)[1].split('"')[0] for i in chips)
    assert marked == ["alert-1", "alert-2"]  # street D1-S1; not alert-3 (D1-S2), alert-4 (D2)
    # after the drill, still marked while its incident may stay open; then no more
    after = views.refresh_console(queries, COMMANDER, "", "open", "en", T0_MS + 40 * MIN_MS)
    assert flat(after.alerts).count("drill-chip") == 2
    later = views.refresh_console(queries, COMMANDER, "", "open", "en", T0_MS + 45 * MIN_MS)
    assert "drill-chip" not in flat(later.alerts)
    assert "drill-chip" not in flat(views.refresh_console(queries, COMMANDER, "", "open", "en"))
    zh = views.refresh_console(queries, COMMANDER, "", "open", "zh", during)
    assert flat(zh.alerts).count("演练") == 2
