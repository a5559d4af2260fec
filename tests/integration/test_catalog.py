"""The data catalog against the real ClickHouse: the reference data writes the defaults,
citybrain-catalog writes new versions with their author, and the dashboard's queries read
the versions (and a source's own quality figures) back exactly."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.queries import ClickHouseQueries
from dashboard.scope import Role, Scope
from detectors.contract.catalog import DEFAULT_DEPARTMENTS, Promise, newest
from detectors.contract.events import Family
from detectors.contract.tables import EVENTS_RAW, ROLLUPS_1M
from infra.catalog import CatalogStore
from infra.catalog_cli import run
from infra.clickhouse import connect
from infra.settings import CommonSettings
from sensors_sim.city import CityModel, build_city
from sensors_sim.reference import write_reference

pytestmark = pytest.mark.integration
COMMANDER = Scope(Role.CITY_COMMANDER, "", "wang")
NOW_S = 1_764_115_200
W = datetime(2025, 11, 26, 10, 0, tzinfo=UTC)
"""The newest district window of the data, far in the past on purpose."""


@pytest.fixture
def city() -> CityModel:
    return build_city(3, districts=2, streets_per_district=1, grid_rows=2, grid_cols=2)


def _cli(settings: CommonSettings, *argv: str, now_s: float = NOW_S) -> tuple[int, str]:
    store = CatalogStore(lambda: connect(settings), settings.clickhouse_database)
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), store, out, err, clock=lambda: now_s)
    return code, out.getvalue() + err.getvalue()


def test_edits_are_versions_with_authors_that_the_dashboard_reads_and_reference_keeps(
    namespace: CommonSettings, city: CityModel
) -> None:
    written = write_reference(namespace, city, clock=lambda: NOW_S - 60)
    assert written.catalog == len(Family)
    queries = ClickHouseQueries(lambda: connect(namespace))
    defaults = newest(queries.catalog(COMMANDER))
    assert {key for _, key in defaults} == {f.value for f in Family}
    assert {e.version for e in defaults.values()} == {0}
    assert defaults[("family", "water")].topics == (f"{namespace.kafka_topic_prefix}.water",)

    source = next(s for s in city.sources if s.family is Family.WATER)
    edit = ("--author", "ana", "set", "water", "--owner", "power", "--freshness", "20m")
    assert _cli(namespace, *edit) == (0, f"family water: version {NOW_S * 1000} saved\n")
    assert _cli(namespace, "--author", "li", "set", source.source_id, "--completeness", "99",
                now_s=NOW_S + 1)[0] == 0  # fmt: skip
    assert _cli(namespace, "set", "water", "--completeness", "101") == (
        2,
        "citybrain-catalog: percentage 101 is outside 0-100\n",
    )
    # The reference data written again: its version 0 never wins over an edit.
    write_reference(namespace, city, clock=lambda: NOW_S + 5)

    history = queries.catalog(COMMANDER)
    water = [(e.version, e.author, e.department) for e in history if e.key == "water"]
    assert water == [(0, "reference", "water"), (NOW_S * 1000, "ana", "power")]
    current = newest(history)
    assert current[("family", "water")].promise == Promise(1200, 80.0, 600)
    own = current[("source", source.source_id)]
    assert (own.author, own.version, own.department, own.cadence_s) == (
        "li",
        (NOW_S + 1) * 1000,
        "power",
        source.cadence_s,
    )
    assert own.promise == Promise(1200, 99.0, 600)
    departments = {d.code: d for d in queries.departments(COMMANDER)}
    assert set(departments) == {d.code for d in DEFAULT_DEPARTMENTS}
    assert departments["power"].name_zh == "供电公司"


def test_a_department_added_is_read_by_the_dashboard_in_its_newest_version(
    namespace: CommonSettings, city: CityModel
) -> None:
    write_reference(namespace, city, clock=lambda: NOW_S - 60)
    add = ("departments", "add", "--code", "housing", "--name-zh", "住建局")
    assert _cli(namespace, *add, "--name", "Housing")[0] == 0
    assert _cli(namespace, *add, "--name", "Housing Bureau", now_s=NOW_S + 1)[0] == 0
    queries = ClickHouseQueries(lambda: connect(namespace))
    named = [d.name for d in queries.departments(COMMANDER) if d.code == "housing"]
    assert named == ["Housing", "Housing Bureau"]  # oldest first: the last is in force
    assert _cli(namespace, "set", "traffic", "--owner", "housing")[0] == 0
    assert newest(queries.catalog(COMMANDER))[("family", "traffic")].department == "housing"


def _event(n: int, source_id: str, at: datetime, district: str) -> tuple[object, ...]:
    return (f"e-{n}", at, int(at.timestamp() * 1000), "water", source_id, "pipe_level", 1.0,
            "CB", district, f"{district}-S1", f"{district}-S1-G01", at,
            int(at.timestamp() * 1000))  # fmt: skip


def test_a_sources_quality_is_counted_over_the_quality_pages_window(
    namespace: CommonSettings, city: CityModel
) -> None:
    write_reference(namespace, city, clock=lambda: NOW_S - 60)
    source = next(s for s in city.sources if s.family is Family.WATER)
    district = source.location.district
    window = (district, "pipe_level", "water", W, "citybrain.water", 0, 1, 1.0, 1.0, 1.0, 1)
    recent = [W - timedelta(minutes=m) for m in (2, 3, 4, 5, 6)]
    older = [W - timedelta(minutes=m) for m in (30, 31, 32)]
    events = [_event(n, source.source_id, at, district) for n, at in enumerate(recent + older)]
    client = connect(namespace)
    try:
        client.execute(ROLLUPS_1M.insert_sql(), [("district", *window)])
        client.execute(EVENTS_RAW.insert_sql(), events)
        client.execute(EVENTS_RAW.insert_sql(), events[:2])  # re-delivered: counted once
        # At the window's own minute, still filling: not counted.
        client.execute(EVENTS_RAW.insert_sql(), [_event(99, source.source_id, W, district)])
    finally:
        client.disconnect()
    queries = ClickHouseQueries(lambda: connect(namespace))
    [found] = queries.source_quality(COMMANDER, ["water"], [source.source_id, "NOPE-1"], 10)
    expected = len(source.metrics) * 60 / source.cadence_s
    assert (found.family, found.district, found.sources) == ("water", source.source_id, 1)
    assert found.expected_per_min == pytest.approx(expected)
    assert found.received_per_min == pytest.approx(0.5)  # 5 in the last 10 full minutes
    assert found.valid_1h == 8
    assert found.last_ms == int(W.timestamp() * 1000)  # newest seen, the filling minute too
    other = next(code for code in ("D1", "D2") if code != district)
    scoped = Scope(Role.DISTRICT_OPERATOR, other, "li")
    assert queries.source_quality(scoped, ["water"], [source.source_id], 10) == []
