"""Demo drills: the kinds in turn, a street that has the sensors, the effect's shape, the
extra case reports of a surge, the record, and the same drills for the same seed."""

from __future__ import annotations

import io
from collections import Counter
from types import SimpleNamespace

import orjson
import pytest

from detectors.contract.tables import DRILLS
from sensors_sim.city import CityModel, build_city
from sensors_sim.drill_record import DrillRecorder, drill_row
from sensors_sim.drills import (
    ANNOUNCE_S,
    DRILL_KINDS,
    DRILL_MARK,
    FALL_S,
    JITTER,
    RISE_S,
    Drill,
    DrillSchedule,
    announced,
)
from sensors_sim.generator import cadence_rate, event_time, generate, sensor_streams

START = 1_764_115_200_000  # 2025-11-26T00:00:00Z


@pytest.fixture(scope="module")
def city() -> CityModel:
    return build_city(seed=42)


def test_kinds_come_in_turn_every_interval(city: CityModel) -> None:
    schedule = DrillSchedule.for_city(city, 42, START, every_s=900)
    drills = [schedule.drill(n) for n in range(13)]
    names = [d.kind.name for d in drills]
    assert names[:6] == [
        "flood", "air_pollution", "water_main", "feeder_overload", "case_surge", "traffic_crash",
    ]  # fmt: skip
    assert names[6:12] == names[:6] and names[12] == "flood"
    assert [d.start_ms - START for d in drills[:3]] == [300_000, 1_200_000, 2_100_000]
    assert len({d.drill_id for d in drills}) == 13
    short = DrillSchedule.for_city(city, 42, START, every_s=120)
    assert [short.drill(n).start_ms - START for n in range(3)] == [120_000, 240_000, 360_000]


def test_each_drill_is_played_in_a_street_with_the_sensors_it_needs(city: CityModel) -> None:
    schedule = DrillSchedule.for_city(city, 42, START)
    by_id = {s.source_id: s for s in city.sources}
    for n in range(24):
        drill = schedule.drill(n)
        assert drill.area.level == "street" and drill.location.street == drill.area.code
        kinds = Counter(by_id[s].kind for s in drill.sources)
        assert set(kinds) == drill.kind.sensor_kinds
        assert all(by_id[s].location.street == drill.area.code for s in drill.sources)
        # every sensor of those kinds in that street takes part
        same = {
            s.source_id for s in city.sources
            if s.location.street == drill.area.code and s.kind in drill.kind.sensor_kinds
        }  # fmt: skip
        assert drill.sources == same
        if drill.kind.case_category:
            assert drill.location.grid.startswith(drill.area.code + "-")
        else:
            assert drill.location.grid == ""
    streets = {schedule.drill(n).area.code for n in range(24)}
    assert len(streets) > 6  # the target moves around the city


def test_the_same_seed_and_start_give_the_same_drills(city: CityModel) -> None:
    def plan(seed: int, start: int) -> list[tuple[str, str, str, int]]:
        schedule = DrillSchedule.for_city(city, seed, start)
        return [
            (d.drill_id, d.kind.name, d.location.grid or d.area.code, d.start_ms)
            for d in map(schedule.drill, range(12))
        ]

    assert plan(42, START) == plan(42, START)
    assert [p[2] for p in plan(42, START)] != [p[2] for p in plan(43, START)]
    assert plan(42, START)[0][0] != plan(42, START + 1)[0][0]


def test_the_effect_rises_holds_and_falls(city: CityModel) -> None:
    drill = DrillSchedule.for_city(city, 42, START).drill(0)
    start, peak, fall, end = drill.start_ms, drill.peak_ms, drill.fall_ms, drill.end_ms
    assert peak - start == RISE_S * 1000 and end - fall == FALL_S * 1000
    assert fall - peak == drill.kind.hold_s * 1000
    assert drill.envelope(start - 1) == 0.0 and drill.envelope(end) == 0.0
    assert drill.envelope(start + RISE_S * 250) == pytest.approx(0.25)
    assert drill.envelope(peak) == drill.envelope(fall - 1) == 1.0
    assert drill.envelope(fall + FALL_S * 500) == pytest.approx(0.5)
    assert drill.value("drain_sensor", "pipe_level", start - 1, 20.0, None) == 20.0
    held = [
        drill.value("drain_sensor", "pipe_level", peak + i * 60_000, 20.0, None) for i in range(8)
    ]
    assert all(abs(v - 93.0) <= 93.0 * JITTER + 1e-9 for v in held)
    assert len(set(held)) == 8  # never the same value twice: not a stuck sensor
    halfway = drill.value("drain_sensor", "pipe_level", start + RISE_S * 500, 20.0, None)
    assert halfway == pytest.approx(56.5, abs=93.0 * JITTER / 2)
    # an amount (rain) is the drill's amount for the time since the previous reading
    rain = drill.value("rain_gauge", "rainfall", peak, 0.0, 60_000)
    assert rain == pytest.approx(2.4, rel=JITTER)
    # what the drill does not bend stays as it was
    assert drill.value("drain_sensor", "temperature", peak, 20.0, None) == 20.0


def test_each_sensor_drill_holds_a_value_past_a_limit_longer_than_its_rule() -> None:
    """A limit rule (detectors/scoring/limits.py) opens the incident; traffic has no
    limit (statistics and neighbours see it) and a case surge is seen by the burst rule."""
    from detectors.scoring.limits import default_bands
    from detectors.scoring.profiles import HOLD_MIN

    for kind in DRILL_KINDS:
        past = [
            effect for effect in kind.effects
            if any(band.breached(effect.peak) for band in default_bands(effect.metric, {}) or [])
        ]  # fmt: skip
        assert past or kind.name in ("traffic_crash", "case_surge"), kind.name
        for effect in past:
            assert kind.hold_s > HOLD_MIN.get(effect.metric, 0) * 60, (kind.name, effect)
            for wobble in (1 - JITTER, 1 + JITTER):  # past the band however it wobbles
                bands = default_bands(effect.metric, {}) or []
                assert any(band.breached(effect.peak * wobble) for band in bands)


def test_a_crash_raises_the_signal_fault_flags_whole(city: CityModel) -> None:
    crash = DrillSchedule.for_city(city, 42, START).drill(5)
    assert crash.kind.name == "traffic_crash"
    flags = [
        crash.value("traffic_detector", "signal_fault", crash.start_ms + s * 1000, 0.0, None)
        for s in range(0, RISE_S + 1, 10)
    ]
    assert set(flags) == {0.0, 1.0} and flags == sorted(flags)
    assert crash.value("traffic_detector", "signal_fault", crash.peak_ms, 0.0, None) == 1.0


def _readings(events: list[bytes]) -> list[dict[str, object]]:
    return [orjson.loads(v) for v in events]


def test_generated_readings_carry_the_drill_and_nothing_else_changes(city: CityModel) -> None:
    schedule = DrillSchedule.for_city(city, 42, START - 200_000, every_s=900)
    drill = schedule.drill(0)  # a flood starting 100 s into the run
    assert drill.kind.name == "flood" and drill.start_ms == START + 100_000
    rate = cadence_rate(sensor_streams(city, 42))
    count = round(rate * 500)
    plain = [e.value for e in generate(city, 42, START, rate, count, 0.0, 0.0)]
    played = [e.value for e in generate(city, 42, START, rate, count, 0.0, 0.0, schedule)]
    changed = [orjson.loads(b) for a, b in zip(plain, played, strict=True) if a != b]
    assert changed and {d["source_id"] for d in changed} <= drill.sources
    assert min(int(d["ts"]) for d in changed) >= drill.start_ms
    held = [
        d for d in map(orjson.loads, played)
        if d["source_id"] in drill.sources and d["metric"] == "pipe_level"
        and drill.peak_ms <= d["ts"] < drill.fall_ms
    ]  # fmt: skip
    assert held and all(abs(d["value"] - 93.0) <= 93.0 * JITTER for d in held)


def test_a_case_surge_files_marked_reports_in_its_grid_cell(city: CityModel) -> None:
    schedule = DrillSchedule.for_city(city, 42, START - 4 * 900_000 - 300_000, every_s=900)
    surge = schedule.drill(4)
    assert surge.kind.name == "case_surge" and surge.start_ms == START
    rate = 20.0
    count = round(rate * (surge.end_ms - START + 60_000) / 1000)
    events = list(generate(city, 42, START, rate, count, 0.0, 0.0, schedule))
    cases = [orjson.loads(e.value) for e in events if e.family.value == "case"]
    marked = [c for c in cases if str(c["text"]).startswith(DRILL_MARK)]
    expected = len(range(surge.start_ms, surge.end_ms, int(surge.kind.case_every_s * 1000)))
    assert len(marked) == expected == len(cases) - sum(c["status"] != "filed" for c in cases)
    assert {c["grid"] for c in marked} == {surge.location.grid}
    assert {c["category"] for c in marked} == {"garbage"}
    assert len({c["case_id"] for c in marked}) == expected
    assert all(surge.start_ms <= c["ts"] < surge.end_ms for c in marked)


def test_drills_are_announced_once_a_minute_before_they_start(city: CityModel) -> None:
    schedule = DrillSchedule.for_city(city, 42, START, every_s=600)
    rate = 2.0
    times = [event_time(START, rate, i) for i in range(int(rate * 1500))]
    seen: list[tuple[str, int]] = []
    out = list(
        announced(
            range(len(times)),
            iter(times),
            schedule,
            lambda d: seen.append((d.drill_id, d.start_ms)),
        )
    )
    assert out == list(range(len(times)))
    starts = [schedule.drill(n).start_ms for n in range(3)]
    assert seen == [(schedule.drill(n).drill_id, starts[n]) for n in range(3)]
    assert starts[2] - ANNOUNCE_S * 1000 <= times[-1] < starts[3 - 1] + 600_000


class RecordingClient:
    def __init__(self) -> None:
        self.sent: list[tuple[str, object]] = []

    def execute(self, sql: str, params: object = None) -> list[object]:
        self.sent.append((sql, params))
        return []

    def disconnect(self) -> None:
        pass


def test_a_drill_is_recorded_as_a_whole_row_of_its_table(city: CityModel) -> None:
    drill: Drill = DrillSchedule.for_city(city, 42, START).drill(4)
    row = dict(zip(DRILLS.names, drill_row(drill, 7), strict=True))
    assert row["drill_id"] == drill.drill_id and row["kind"] == "case_surge"
    assert row["grid"] == drill.location.grid and row["area_name"] == drill.area.name
    assert row["start_ms"] == drill.start_ms and row["end_ms"] == drill.end_ms
    assert row["start"] == drill.start_ms // 1000 and row["updated_at"] == 7
    assert row["metrics"] == ["case_reports"]
    flood = DrillSchedule.for_city(city, 42, START).drill(0)
    assert drill_row(flood, 7)[DRILLS.names.index("metrics")] == ["pipe_level", "rainfall"]
    client, err = RecordingClient(), io.StringIO()
    settings = SimpleNamespace(clickhouse_database="cb")
    recorder = DrillRecorder(settings, err, lambda: 7.0, lambda _s: client)  # type: ignore[arg-type]
    recorder._schema = True  # the schema exists
    recorder.record(drill)
    [(sql, rows)] = client.sent
    assert sql == DRILLS.insert_sql("cb")
    assert rows == [drill_row(drill, 7)]
    assert drill.drill_id in err.getvalue() and "case surge" in err.getvalue()
