"""The data catalog's pure core and the citybrain-catalog CLI over an in-memory store:
defaults, the entry in force, the promise check, and bad input refused with exit code 2."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

import pytest

from detectors.contract.cases import DEPARTMENTS as CASE_DEPARTMENTS
from detectors.contract.catalog import (
    DEFAULT_DEPARTMENTS,
    DEFAULT_PROMISE,
    CatalogEntry,
    Department,
    Promise,
    Subject,
    breaches,
    in_force,
    newest,
    parse_duration,
    parse_percent,
)
from detectors.contract.events import SCHEMA_VERSION, Family, Location, Source
from detectors.contract.tables import CATALOG, catalog_entry, catalog_row
from infra.catalog import default_entries
from infra.catalog_cli import run

NOW_S = 1_764_115_200


def _source(source_id: str, family: Family, cadence_s: int) -> Source:
    where = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    return Source(source_id, family, "kind", frozenset({"m"}), where, 120.0, 30.0, cadence_s)


SOURCES = {"WAT-0001": ("water", 300), "ENV-0001": ("environment", 60)}


@dataclass
class MemoryStore:
    """The CLI's store in memory: rows appended as ClickHouse would keep them."""

    entries: list[CatalogEntry] = field(
        default_factory=lambda: default_entries(
            [_source(s, Family(f), c) for s, (f, c) in SOURCES.items()], "citybrain", 1000
        )
    )
    department_rows: list[tuple[Department, str, int]] = field(
        default_factory=lambda: [(d, "reference", 0) for d in DEFAULT_DEPARTMENTS]
    )

    def history(self) -> list[CatalogEntry]:
        return sorted(self.entries, key=lambda e: (e.subject.value, e.key, e.version))

    def departments(self) -> dict[str, Department]:
        return {d.code: d for d, _, _ in sorted(self.department_rows, key=lambda r: r[2])}

    def source(self, source_id: str) -> tuple[str, int] | None:
        return SOURCES.get(source_id)

    def write(self, entries: list[CatalogEntry]) -> None:
        self.entries.extend(entries)

    def write_departments(
        self, departments: list[Department], author: str, changed_ms: int, version: int
    ) -> None:
        self.department_rows.extend((d, author, version) for d in departments)


def cli(store: MemoryStore, *argv: str, now_s: float = NOW_S) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = run(list(argv), store, out, err, clock=lambda: now_s)
    return code, out.getvalue(), err.getvalue()


def test_durations_and_percentages_are_parsed_or_refused() -> None:
    assert [parse_duration(t) for t in ("45", "45s", "15m", "2h", "1d")] == [
        45, 45, 900, 7200, 86400,
    ]  # fmt: skip
    for bad in ("", "0m", "-5m", "15 minutes", "1.5h", "m"):
        with pytest.raises(ValueError, match="bad duration"):
            parse_duration(bad)
    assert parse_percent("0") == 0.0 and parse_percent("100") == 100.0
    with pytest.raises(ValueError, match="outside 0-100"):
        parse_percent("100.5")
    with pytest.raises(ValueError, match="bad percentage"):
        parse_percent("ninety")


def test_a_promise_is_broken_by_stale_or_incomplete_data() -> None:
    promise = Promise(freshness_s=600, completeness_pct=90.0, allowance_s=60)
    now = 10_000_000
    assert breaches(promise, now - 600_000, now, 0.9) == ()
    assert breaches(promise, now - 600_001, now, 0.9) == ("stale",)
    assert breaches(promise, now, now, 0.899) == ("incomplete",)
    assert breaches(promise, 0, now, 0.1) == ("stale", "incomplete")
    # Nothing expected: completeness is not judged.
    assert breaches(promise, now, now, None) == ()
    assert Promise(300, 80.0, 600) == DEFAULT_PROMISE


def test_every_family_has_a_default_owned_by_its_city_department() -> None:
    entries = {e.key: e for e in MemoryStore().entries}
    assert set(entries) == {f.value for f in Family}
    owners = {key: e.department for key, e in entries.items()}
    assert owners == {
        "environment": "ecology_environment", "traffic": "transport", "water": "water",
        "power": "power", "case": "urban_management",
    }  # fmt: skip
    names = {d.code: (d.name, d.name_zh) for d in DEFAULT_DEPARTMENTS}
    assert names["ecology_environment"] == ("Ecology and Environment Bureau", "生态环境局")
    assert names["urban_management"] == ("City Administration Bureau", "城市管理局")
    assert set(CASE_DEPARTMENTS) <= set(names)
    water = entries["water"]
    # The slowest water source reports every 300 s: three cadences of freshness.
    assert (water.cadence_s, water.promise.freshness_s) == (300, 900)
    assert water.topics == ("citybrain.water",) and "events_raw" in water.tables
    assert (water.version, water.schema_version, water.author) == (0, SCHEMA_VERSION, "reference")
    assert entries["traffic"].cadence_s == 60  # no traffic source: the default cadence
    assert entries["case"].promise.completeness_pct == 0.0 and "case_steps" in (
        entries["case"].tables
    )


def test_a_catalog_row_is_read_back_as_the_same_entry() -> None:
    entry = MemoryStore().entries[0]
    row = catalog_row(entry)
    assert len(row) == len(CATALOG.names)
    assert catalog_entry(*row) == entry


def test_set_writes_a_new_version_with_its_author_and_list_shows_it() -> None:
    store = MemoryStore()
    code, out, _ = cli(
        store, "--author", "ana", "set", "water", "--owner", "municipal", "--freshness", "20m",
        "--completeness", "95.5", "--allowance", "1h",
    )  # fmt: skip
    assert (code, out) == (0, f"family water: version {NOW_S * 1000} saved\n")
    current = newest(store.history())[("family", "water")]
    assert current.department == "municipal"
    assert current.promise == Promise(1200, 95.5, 3600)
    assert (current.author, current.changed_ms) == ("ana", NOW_S * 1000)
    assert [e.version for e in store.history() if e.key == "water"] == [0, NOW_S * 1000]
    code, out, _ = cli(store, "list", "--json")
    listed = {(e["subject"], e["key"]): e for e in json.loads(out)}
    assert code == 0 and listed[("family", "water")]["freshness_s"] == 1200
    assert len(listed) == len(Family)
    code, out, _ = cli(store, "list")
    assert "family\twater\twater\tmunicipal\t300s\t1200s\t95.5%\t3600s" in out


def test_a_source_gets_its_own_entry_from_its_family_and_that_entry_governs_it() -> None:
    store = MemoryStore()
    assert cli(store, "set", "WAT-0001", "--completeness", "99", now_s=NOW_S)[0] == 0
    # Two changes in one millisecond still make two versions.
    assert cli(store, "set", "WAT-0001", "--freshness", "1h", now_s=NOW_S)[0] == 0
    current = newest(store.history())
    own = current[("source", "WAT-0001")]
    assert (own.subject, own.family, own.department) == (Subject.SOURCE, "water", "water")
    assert own.promise == Promise(3600, 99.0, 600) and own.version == NOW_S * 1000 + 1
    assert in_force(current, "water", "WAT-0001") == own
    assert in_force(current, "water", "WAT-0002") == current[("family", "water")]
    code, out, _ = cli(store, "show", "WAT-0001")
    assert code == 0 and "owner: water (Water Affairs Bureau / 水务局)" in out
    assert out.count("  version ") == 2 and "topics: citybrain.water" in out
    assert f"  version {NOW_S * 1000 + 1}: water, freshness 3600s, completeness 99%, " in out
    assert "views: tier, sensor, alerts, quality, overview" in out
    code, out, _ = cli(store, "show", "ENV-0001")  # no own entry: its family's
    assert code == 0 and "key: environment" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["set", "water", "--owner", "police"], "unknown department 'police'"),
        (["set", "water", "--freshness", "soon"], "bad duration 'soon'"),
        (["set", "water", "--allowance", "0s"], "bad duration '0s'"),
        (["set", "water", "--completeness", "120"], "percentage 120 is outside 0-100"),
        (["set", "water", "--completeness", "-1"], "percentage -1 is outside 0-100"),
        (["set", "water"], "nothing to change"),
        (["set", "XYZ-9", "--freshness", "5m"], "unknown source 'XYZ-9'"),
        (["show", "XYZ-9"], "no family or source 'XYZ-9'"),
        (["departments", "add", "--code", "Bad Code", "--name", "x", "--name-zh", "y"],
         "bad department code"),
        (["departments", "add", "--code", "housing", "--name", " ", "--name-zh", "住建局"],
         "an English and a Chinese name"),
    ],
)  # fmt: skip
def test_bad_input_stops_with_a_message_and_exit_code_2(argv: list[str], message: str) -> None:
    store = MemoryStore()
    before = (list(store.entries), list(store.department_rows))
    code, out, err = cli(store, *argv)
    assert (code, out) == (2, "")
    assert err.startswith("citybrain-catalog: ") and message in err
    assert (store.entries, store.department_rows) == before


def test_a_department_added_can_own_a_family() -> None:
    store = MemoryStore()
    code, out, _ = cli(
        store, "--author", "ana", "departments", "add", "--code", "housing", "--name",
        "Housing Bureau", "--name-zh", "住建局", "--contact", "12345",
    )  # fmt: skip
    assert (code, out) == (0, "department housing saved\n")
    assert cli(store, "set", "power", "--owner", "housing")[0] == 0
    assert newest(store.history())[("family", "power")].department == "housing"
    code, out, _ = cli(store, "departments", "list")
    assert "housing\tHousing Bureau\t住建局\t12345" in out.splitlines()


def test_shared_with_is_set_checked_against_the_departments_and_cleared() -> None:
    store = MemoryStore()
    assert cli(store, "set", "water", "--shared-with", "municipal, power,municipal")[0] == 0
    assert newest(store.history())[("family", "water")].shared_with == ("municipal", "power")
    code, out, _ = cli(store, "list")
    assert "\t600s\tmunicipal,power" in out
    code, out, _ = cli(store, "show", "water")
    assert "shared_with: municipal, power" in out
    code, out, err = cli(store, "set", "water", "--shared-with", "municipal,police")
    assert (code, out) == (2, "") and "unknown department 'police'" in err
    assert cli(store, "set", "water", "--shared-with", "")[0] == 0
    assert newest(store.history())[("family", "water")].shared_with == ()
