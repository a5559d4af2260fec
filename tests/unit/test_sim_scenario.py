"""``citybrain-sim scenario`` without services: the events of a played scenario are the
synthesis shifted in time, the same for a seed, and every one is accepted by the worker's
validation once the planned reference rows are in the tables."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import cache
from typing import Any

import orjson
import pytest

from detectors.contract.events import CASE_METRIC, CaseReport, Family, Reading
from detectors.contract.tables import AREAS, SOURCE_PROFILES, SOURCES
from detectors.contract.validation import Registry, TimeBounds, validate
from detectors.evaluation.scenarios import HOUR_MS, Synthesis, synthesize
from sensors_sim import geometry
from sensors_sim.city import CityModel, build_city
from sensors_sim.generator import SimEvent
from sensors_sim.reference import area_rows
from sensors_sim.scenario import (
    Bounds,
    KnownArea,
    ReferencePlan,
    ScenarioError,
    Timeline,
    check_window,
    load_scenario,
    plan_reference,
    scenario_events,
    scenario_names,
    sent_range,
    shifted_labels,
)
from sensors_sim.scenario_play import read_known_areas, source_rows
from streams.sink import ClickHouseSink

END_MS = 1_795_000_000_000  # 2026-11-18T11:06:40Z: a fixed end for the plays below
NAMES = scenario_names()


class TablesStandIn:
    """The areas and sources tables as a clickhouse-driver Client answers the queries the
    simulator and the worker send (SELECT columns ... FROM t FINAL [WHERE ...]); the last
    row written for a key wins, as ReplacingMergeTree(updated_at) makes it."""

    def __init__(self) -> None:
        self.tables: dict[str, dict[str, dict[str, Any]]] = {
            "areas": {}, "sources": {}, "source_profiles": {},
        }  # fmt: skip
        self.inserts: list[tuple[str, int]] = []

    def write(self, table: str, rows: Sequence[Sequence[object]]) -> None:
        columns = {"areas": AREAS, "sources": SOURCES,
                   "source_profiles": SOURCE_PROFILES}[table].names  # fmt: skip
        key = "code" if table == "areas" else "source_id"
        for row in rows:
            record = dict(zip(columns, row, strict=True))
            self.tables[table][str(record[key])] = record

    def execute(self, sql: str, params: Any = None, **_: Any) -> list[tuple[Any, ...]]:
        if sql.startswith("INSERT INTO"):
            table = sql.split()[2].split(".")[-1]
            self.write(table, params)
            self.inserts.append((table, len(params)))
            return []
        match = re.match(r"SELECT (.+?) FROM (\w+) FINAL(?: WHERE (.+))?$", sql)
        assert match is not None, sql
        columns = [c.strip() for c in match.group(1).split(",")]
        records = list(self.tables[match.group(2)].values())
        where = match.group(3) or ""
        if where == "level = 'grid'":
            records = [r for r in records if r["level"] == "grid"]
        elif where.startswith("source_id IN"):
            records = [r for r in records if r["source_id"] in params["ids"]]
        else:
            assert not where, where
        return [tuple(r[c] for c in columns) for r in records]

    def disconnect(self) -> None:
        pass


@cache
def synthesis_of(name: str, seed: int = 7) -> Synthesis:
    return synthesize(load_scenario(name), seed)


@cache
def city() -> CityModel:
    return build_city(1)


def planned(
    name: str, known: Sequence[KnownArea] = (), seed: int = 7
) -> tuple[Synthesis, Timeline, ReferencePlan]:
    synthesis = synthesis_of(name, seed)
    skip = 1.0 if name == "baseline" else 0.0  # a week: its first hour would be too old
    timeline = Timeline.ending_at(synthesis, END_MS, skip)
    return synthesis, timeline, plan_reference(synthesis, known, city(), 1000)


def registry_after(plan: ReferencePlan, tables: TablesStandIn | None = None) -> Registry:
    """The registry the worker loads once the plan's rows are written."""
    tables = tables or TablesStandIn()
    tables.write("areas", plan.area_rows)
    tables.write("sources", source_rows(plan.sources, 1000))
    return ClickHouseSink(lambda: tables).load_registry()


def events(name: str, seed: int = 7) -> Iterator[tuple[int, SimEvent]]:
    synthesis, timeline, plan = planned(name, seed=seed)
    return scenario_events(synthesis, seed, timeline, plan.cells)


def test_the_scenarios_are_found_by_name() -> None:
    assert {"flood", "water_main", "case_surge", "sensor_faults", "baseline"} <= set(NAMES)
    with pytest.raises(ScenarioError, match="unknown scenario 'nope'; known scenarios: air_"):
        load_scenario("nope")
    with pytest.raises(ScenarioError, match="unknown scenario"):
        load_scenario("../scenarios/flood")


def test_the_same_seed_gives_the_same_bytes_and_another_seed_other_values() -> None:
    first = [(ts, e.family, e.key, e.value) for ts, e in events("water_main")]
    again = [(ts, e.family, e.key, e.value) for ts, e in events("water_main")]
    assert first == again and len(first) == 19_800
    other = [orjson.loads(e.value)["value"] for _, e in events("water_main", seed=8)]
    assert other != [orjson.loads(value)["value"] for *_, value in first]
    ids = [orjson.loads(value)["event_id"] for *_, value in first]
    assert len(set(ids)) == len(ids)


def test_events_are_the_synthesis_shifted_to_end_at_the_given_time() -> None:
    synthesis, timeline, _ = planned("flood")
    assert timeline.shift_ms == END_MS - synthesis.end_ms
    played = [(ts, orjson.loads(event.value)) for ts, event in events("flood")]
    readings = list(synthesis.readings())
    assert len(played) == len(readings)
    for (ts, doc), (orig_ts, source_id, metric, value) in zip(played, readings, strict=True):
        assert ts == doc["ts"] == orig_ts + timeline.shift_ms
        assert (doc["source_id"], doc["metric"], doc["value"]) == (source_id, metric, value)
    assert played[-1][0] < END_MS <= played[-1][0] + 300_000
    assert [ts for ts, _ in played] == sorted(ts for ts, _ in played)
    label = shifted_labels(synthesis.labels, timeline)[0]
    assert (label["kind"], label["area"]) == ("area_incident", "D1")
    assert label["start_ms"] == END_MS - 20 * HOUR_MS and label["end_ms"] == END_MS - 6 * HOUR_MS
    assert label["start"] == "2026-11-17T15:06:40Z"


def test_skipping_hours_drops_the_head_but_never_a_labelled_window() -> None:
    synthesis = synthesis_of("water_main")
    timeline = Timeline.ending_at(synthesis, END_MS, skip_hours=10)
    count, first, last = sent_range(synthesis, timeline)
    assert first >= END_MS - 56 * HOUR_MS and last < END_MS
    assert count == sum(1 for ts in synthesis.ts_ms if ts >= synthesis.start_ms + 10 * HOUR_MS)
    assert len(list(scenario_events(synthesis, 7, timeline, {}))) == count
    with pytest.raises(ScenarioError, match="cuts into the labelled window"):
        Timeline.ending_at(synthesis, END_MS, skip_hours=58)
    with pytest.raises(ScenarioError, match="--skip-hours must be in"):
        Timeline.ending_at(synthesis, END_MS, skip_hours=66)


def test_the_worker_s_time_bounds_are_checked_before_anything_is_sent() -> None:
    hour, bounds = HOUR_MS, Bounds()
    now = END_MS
    check_window(now - 66 * hour, now - 1, now, None, bounds)  # 66 h at once: fine
    with pytest.raises(ScenarioError, match=r"spans 168\.0 h .* --skip-hours"):
        check_window(now - 168 * hour, now, now, None, bounds)
    with pytest.raises(ScenarioError, match="in the future when sent"):
        check_window(now - 10 * hour, now + hour, now, None, bounds)
    with pytest.raises(ScenarioError, match="h old when sent"):
        check_window(now - 200 * hour, now - 100 * hour, now, None, bounds)
    # Real time: a week is fine when it starts now (each event is sent at its own time)...
    check_window(now, now + 168 * hour, now, 1.0, bounds)
    # ...but not when it ends now: its first events would be a week old already.
    with pytest.raises(ScenarioError, match="h old when sent"):
        check_window(now - 168 * hour, now, now, 1.0, bounds)
    # 60 times faster: 66 h of event time take 66 min; ending at the start of the play
    # keeps every event in the past.
    check_window(now - 66 * hour, now, now, 60.0, bounds)
    tight = Bounds(max_age_ms=24 * hour, margin_ms=0)
    with pytest.raises(ScenarioError, match="CITYBRAIN_WORKER_MAX_AGE_S"):
        check_window(now - 30 * hour, now, now, None, tight)


def test_the_registry_names_every_area_in_both_languages() -> None:
    """Alert notices explain places by these names, never by codes."""
    _, _, plan = planned("baseline")
    registry = registry_after(plan)
    assert set(registry.names) == {row[1] for row in plan.area_rows}
    assert all(en and zh for en, zh in registry.names.values())


@pytest.mark.parametrize("name", NAMES)
def test_every_event_is_valid_for_the_registered_reference(name: str) -> None:
    synthesis, timeline, plan = planned(name)
    registry = registry_after(plan)
    bounds = TimeBounds(now_ms=END_MS)
    sources = {s.source_id for s in synthesis.sites if s.metrics != (CASE_METRIC,)}
    assert set(registry.sources) == sources
    seen: set[tuple[str, str]] = set()
    checked = 0
    for n, (ts, event) in enumerate(scenario_events(synthesis, 7, timeline, plan.cells)):
        doc = orjson.loads(event.value)
        series = (doc["source_id"], doc.get("metric") or doc["grid"] + doc["category"])
        # Every event of the small scenarios; of the big ones every series' first and a
        # stride (validation is the worker's, tested on its own).
        if len(synthesis.ts_ms) > 30_000 and series in seen and n % 97:
            continue
        seen.add(series)
        verdict = validate(event.value, event.family, registry, bounds)
        assert isinstance(verdict, Reading | CaseReport), (verdict, doc)
        assert verdict.ts_ms == ts
        # The codec's key rule: every event by its district.
        expected_key = doc["district"].encode()
        assert event.key == expected_key
        if isinstance(verdict, CaseReport):
            assert event.family is Family.CASE and verdict.status == "filed"
            assert geometry.contains(plan.cells[verdict.location.grid], (doc["lon"], doc["lat"]))
        checked += 1
    assert checked > 0


def test_case_reports_have_unique_ids_and_stream_categories() -> None:
    synthesis, timeline, plan = planned("case_surge")
    docs = [orjson.loads(e.value) for _, e in scenario_events(synthesis, 7, timeline, plan.cells)]
    assert len(docs) == len(synthesis.ts_ms) > 0
    assert len({d["case_id"] for d in docs}) == len(docs)
    streams = [synthesis.series[i][0] for i in synthesis.series_index.tolist()]
    assert [f"cases:{d['grid']}:{d['category']}" for d in docs] == streams
    surge = [d for d in docs if d["grid"] == "D7-S1-G03" and d["category"] == "waterlogging"]
    assert len(surge) >= 5


def test_an_empty_database_gets_the_city_model_and_an_annex_for_what_it_lacks() -> None:
    _, _, plan = planned("case_surge")
    rows = {str(r[1]): dict(zip(AREAS.names, r, strict=True)) for r in plan.area_rows}
    assert plan.city_written and len(rows) == len(city().areas) + len(plan.annexed)
    assert set(plan.annexed) == {
        "D7", "D7-S1", "D7-S2", "D7-S1-G01", "D7-S1-G02", "D7-S1-G03", "D7-S1-G04",
        "D7-S2-G01", "D7-S2-G02",
    }  # fmt: skip
    cell = rows["D7-S1-G03"]
    assert (cell["level"], cell["parent"], cell["city"], cell["district"], cell["street"]) == (
        "grid", "D7-S1", "CB", "D7", "D7-S1",
    )  # fmt: skip
    assert (rows["D7"]["parent"], rows["D7"]["district"], rows["D7"]["street"]) == ("CB", "D7", "")
    ring = [tuple(p) for p in orjson.loads(str(cell["ring"]))]
    street = [tuple(p) for p in orjson.loads(str(rows["D7-S1"]["ring"]))]
    district = [tuple(p) for p in orjson.loads(str(rows["D7"]["ring"]))]
    centre = (float(str(cell["lon"])), float(str(cell["lat"])))
    assert geometry.contains(tuple(street), centre) and geometry.contains(tuple(district), centre)
    # about 400 m square, east of the whole city and clear of it
    assert geometry.signed_area(tuple(ring)) > 0
    assert 0.0035 < abs(ring[1][0] - ring[0][0]) < 0.005
    city_ring = next(a.ring for a in city().areas if a.level == "city")
    assert min(p[0] for p in district) > max(p[0] for p in city_ring)
    # annex cells do not overlap each other
    cells = [r for r in rows.values() if r["level"] == "grid" and r["code"] in plan.annexed]
    centres = {(str(r["lon"]), str(r["lat"])) for r in cells}
    assert len(centres) == len(cells)


def test_a_database_with_a_city_gets_only_what_it_lacks() -> None:
    tables = TablesStandIn()
    tables.write("areas", area_rows(build_city(42), 500))  # the live city of scripts/up
    known = ClickHouseStandInAreas(tables)
    _, _, plan = planned("baseline", known)
    assert not plan.city_written
    written = {str(r[1]) for r in plan.area_rows}
    assert written == set(plan.annexed)
    assert {"D8", "D8-S5", "D8-S6", "D8-S6-G04"} <= written
    assert not any(code.startswith(("D1", "D6")) for code in written)
    # a bigger city already has D7 and D8: nothing to add for them
    bigger = TablesStandIn()
    bigger.write("areas", area_rows(build_city(42, districts=8, streets_per_district=6), 500))
    _, _, plan = planned("baseline", ClickHouseStandInAreas(bigger))
    assert plan.area_rows == () and plan.annexed == ()
    registry = registry_after(plan, bigger)
    assert registry.grids["D8-S6-G04"].street == "D8-S6"


def ClickHouseStandInAreas(tables: TablesStandIn) -> list[KnownArea]:  # noqa: N802
    """The known areas as scenario_play.read_known_areas reads them."""
    return read_known_areas(tables)


def test_scenario_sites_agree_across_files_and_miss_the_city_s_ids() -> None:
    # Two scenarios played into one namespace must not move each other's sources.
    places: dict[str, tuple[str, str, str]] = {}
    for name in NAMES:
        for site in synthesis_of(name).sites:
            if site.metrics == (CASE_METRIC,):
                continue
            place = (site.kind, site.location.grid, ",".join(sorted(site.metrics)))
            assert places.setdefault(site.source_id, place) == place, (name, site.source_id)
    city_ids = {s.source_id for s in build_city(42).sources} | {s.source_id for s in city().sources}
    assert not city_ids & set(places)
