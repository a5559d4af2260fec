"""The five indicators: every component's formula on hand-computed inputs (the arithmetic
is in the comments), the roll-up of places by their counts (not by averaging scores), the
judgement of cases and alerts, None where nothing is judged, hourly rows from minutes, and
the worker's gathering of stored rows into places."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import orjson

from detectors.contract.catalog import family_entry, newest
from detectors.contract.events import Family, Source
from detectors.contract.indicators import SPECS, Component, Indicator, Score
from detectors.contract.places import AreaLevel, Location
from detectors.contract.validation import Registry
from detectors.indicators import (
    DAY_MS,
    HOUR_MS,
    MINUTE_MS,
    AreaInputs,
    Mean,
    add_alert,
    add_case,
    add_sensor,
    area_scores,
    hourly,
    noise_limit,
    repeats,
    roll_up,
    water_warning,
)
from streams.batch import Message
from streams.indicators import IndicatorRunner, Stored, gather, latest_tick, minute_scores

M = MINUTE_MS
CELL = Location("CB", "D1", "D1-S1", "D1-S1-G01")
CELL2 = Location("CB", "D1", "D1-S1", "D1-S1-G02")


def components(inputs: AreaInputs) -> dict[str, tuple[float | None, float | None]]:
    """name -> (value, score) of every component of an area with these inputs."""
    return {c.name: (c.value, c.score) for s in area_scores(AreaLevel.GRID, "G", 0, inputs)
            for c in s.components}  # fmt: skip


def indicator_scores(inputs: AreaInputs) -> dict[str, float | None]:
    return {s.indicator.value: s.score for s in area_scores(AreaLevel.GRID, "G", 0, inputs)}


def test_every_spec_has_a_formula_and_the_components_come_in_spec_order() -> None:
    scores = area_scores(AreaLevel.CITY, "CB", 0, AreaInputs())
    assert [(s.indicator, c.name, c.unit, c.weight) for s in scores for c in s.components] == [
        (spec.indicator, spec.name, spec.unit, spec.weight) for spec in SPECS
    ]


def test_data_components() -> None:
    a = AreaInputs(sensors=4, fresh=3, received=27, expected=30.0, messages=49, dead=1,
                   sources=4, shared=1)  # fmt: skip
    found = components(a)
    assert found["fresh"] == (75.0, 75.0)  # 3 of 4 sensors
    assert found["complete"] == (90.0, 90.0)  # 27 / 30 readings
    assert found["dead_letter"] == (2.0, 60.0)  # 1 of 50 = 2 %; 100 x (1 - 2/5) = 60
    assert found["shared"] == (25.0, 25.0)  # 1 of 4 sources
    # (75 x 2 + 90 x 2 + 60 + 25) / 6 = 415 / 6 = 69.1666...
    assert indicator_scores(a)["data"] == 69.167
    over = components(AreaInputs(received=33, expected=30.0, messages=47, dead=3))
    assert over["complete"] == (110.0, 100.0)  # more than expected: capped at 100
    assert over["dead_letter"] == (6.0, 0.0)  # 3 of 50 = 6 %: past 5 %, floored at 0


def test_a_sensor_is_fresh_within_its_target_at_the_window_end() -> None:
    a = AreaInputs()
    add_sensor(a, last_ms=10 * M - 300_000, freshness_s=300, received=5, expected=15.0,
               end_ms=10 * M)  # exactly 300 s old: fresh  # fmt: skip
    add_sensor(a, last_ms=10 * M - 300_001, freshness_s=300, received=0, expected=15.0,
               end_ms=10 * M)  # fmt: skip
    add_sensor(a, last_ms=None, freshness_s=300, received=0, expected=15.0, end_ms=10 * M)
    assert (a.sensors, a.fresh, a.received, a.expected) == (3, 1, 5, 45.0)


END = 2 * DAY_MS  # judged at minute 2880; the trailing day is [1440, 2880) min


def _cases() -> AreaInputs:
    a = AreaInputs(cells=1)
    # A: filed 10 min ago, dispatch due in 20: open, on time
    add_case(a, "garbage", [("filed", 2870 * M)], END)
    # B: dispatched after 40 min (limit 30): late, and its acceptance (due 2850) overdue
    add_case(a, "garbage", [("filed", 2780 * M), ("dispatched", 2820 * M)], END)
    # C: a manhole cover (dispatch limit 10) dispatched in 5, accepted; handling due 2920
    add_case(
        a,
        "manhole_cover",
        [("filed", 2840 * M), ("dispatched", 2845 * M), ("accepted", 2860 * M)],
        END,
    )
    # D: evaluated before the trailing day: not open in it, nothing in it
    add_case(a, "garbage", [(s, t * M) for s, t in (("filed", 100), ("dispatched", 110),
             ("accepted", 120), ("handled", 200), ("verified", 210), ("closed", 250),
             ("evaluated", 260))], END)  # fmt: skip
    # E: filed and dispatched before the day, closed (160 min after filing) and evaluated
    # in it, every step in time
    add_case(a, "garbage", [(s, t * M) for s, t in (("filed", 1400), ("dispatched", 1420),
             ("accepted", 1430), ("handled", 1500), ("verified", 1520), ("closed", 1560),
             ("evaluated", 1600))], END)  # fmt: skip
    # F: a step after the window's end is not seen yet
    add_case(a, "garbage", [("filed", 2900 * M)], END)
    return a


def test_cases_open_on_time_dispatched_closed_and_the_backlog() -> None:
    a = _cases()
    assert (a.open_cases, a.on_time_cases, a.open_now) == (4, 3, 3)  # A B C E; A C E; A B C
    assert a.dispatch == [(40.0, 30.0), (5.0, 10.0)]
    assert a.close == [(160.0, 420.0)]  # limit 30 + 30 + 240 + 60 + 60
    found = components(a)
    assert found["on_time"] == (75.0, 75.0)
    # median 22.5 min against the median limit 20: 100 to 10, 0 at 40: 100 x 17.5 / 30
    assert found["dispatch_median"] == (22.5, 58.333)
    assert found["close_median"] == (160.0, 100.0)  # under half of 420
    assert found["backlog"] == (3.0, 40.0)  # 3 open in 1 cell: 100 x (1 - 3/5)


def test_the_median_score_falls_to_zero_at_twice_the_limit() -> None:
    # 45 min against 30: 100 to 15, 0 at 60: 100 x 15 / 45
    assert components(AreaInputs(dispatch=[(45.0, 30.0)]))["dispatch_median"] == (45.0, 33.333)
    assert components(AreaInputs(dispatch=[(60.0, 30.0)]))["dispatch_median"] == (60.0, 0.0)
    assert components(AreaInputs(dispatch=[(15.0, 30.0)]))["dispatch_median"] == (15.0, 100.0)


def test_alerts_acknowledged_within_their_tiers_limit() -> None:
    a, end = AreaInputs(), 120 * M
    add_alert(a, "grid", raised_ms=0, acked_ms=25 * M, end_ms=end)  # 25 <= 30: on time
    add_alert(a, "street", raised_ms=0, acked_ms=25 * M, end_ms=end)  # 25 > 20: late
    add_alert(a, "district", raised_ms=100 * M, acked_ms=None, end_ms=end)  # 20 > 15: late
    add_alert(a, "grid", raised_ms=100 * M, acked_ms=None, end_ms=end)  # 20 <= 30: not judged
    add_alert(a, "city", raised_ms=10 * M, acked_ms=20 * M, end_ms=end)  # 10 <= 15: on time
    add_alert(a, "grid", raised_ms=100 * M, acked_ms=125 * M, end_ms=end)  # acked later: not
    assert (a.alerts_judged, a.alerts_on_time) == (4, 2)
    assert components(a)["ack_on_time"] == (50.0, 50.0)


def test_service_components() -> None:
    a = AreaInputs(evaluation=Mean(12.0, 3), filed=4, repeats=1, cells=2, open_now=1)
    found = components(a)
    assert found["satisfaction"] == (4.0, 75.0)  # (5 + 4 + 3) / 3 = 4; (4 - 1) / 4
    assert found["repeat"] == (25.0, 75.0)  # 1 of 4
    assert found["backlog"] == (0.5, 90.0)  # 1 open case in 2 cells: 100 x (1 - 0.1)
    # (75 x 2 + 75 + 90) / 4 = 78.75
    assert indicator_scores(a)["service"] == 78.75
    assert components(AreaInputs(cells=1, open_now=7))["backlog"] == (7.0, 0.0)


def test_repeats_look_back_seven_days_in_the_same_cell_and_category() -> None:
    end = 20 * DAY_MS
    filings = [
        ("G1", "garbage", 6 * DAY_MS),  # before the judged week [13, 20): a reference only
        ("G1", "garbage", 13 * DAY_MS),  # judged: exactly 7 days after: a repeat
        ("G1", "street_light", 6 * DAY_MS - 1),
        ("G1", "street_light", 13 * DAY_MS),  # 7 days + 1 ms after: not a repeat
        ("G1", "noise_complaint", 19 * DAY_MS),  # the first of its category
        ("G2", "garbage", 19 * DAY_MS),  # another cell
        ("G2", "garbage", 20 * DAY_MS),  # at the end: not in the window
    ]
    assert repeats(filings, end) == {"G1": (3, 1), "G2": (1, 0)}


def test_economy_components() -> None:
    a = AreaInputs(flow=Mean(900.0, 3), flow_usual=Mean(2000.0, 5), load=Mean(230.0, 2),
                   load_usual=Mean(300.0, 3), traffic_minutes=10, congested=3)  # fmt: skip
    found = components(a)
    assert found["traffic_flow"] == (75.0, 75.0)  # 300 against 400
    assert found["power_load"] == (115.0, 87.5)  # 115 against 100: 15 % off; (50 - 15) / 40
    assert found["congestion"] == (30.0, 70.0)  # 3 of 10 sensor-minutes
    assert indicator_scores(a)["economy"] == 77.5  # (75 + 87.5 + 70) / 3
    busy = components(AreaInputs(flow=Mean(500.0, 1), flow_usual=Mean(400.0, 1),
                                 load=Mean(105.0, 1), load_usual=Mean(100.0, 1)))  # fmt: skip
    assert busy["traffic_flow"] == (125.0, 100.0)
    assert busy["power_load"] == (105.0, 100.0)  # within 10 %
    assert components(AreaInputs(load=Mean(40.0, 1), load_usual=Mean(100.0, 1)))[
        "power_load"] == (40.0, 0.0)  # 60 % under  # fmt: skip
    no_usual = components(AreaInputs(flow=Mean(500.0, 1)))
    assert no_usual["traffic_flow"] == (None, None)  # no history: not judged


def test_environment_components() -> None:
    a = AreaInputs(
        # IAQI: PM2.5 75 -> 100; PM10 100 -> 50 + 50/100 x 50 = 75; NO2 50 -> 25; O3 160 -> 50
        pollutants={"pm25": Mean(150.0, 2), "pm10": Mean(100.0, 1), "no2": Mean(50.0, 1),
                    "o3": Mean(160.0, 1), "temperature": Mean(20.0, 1)},
        noise=Mean(3.0, 2),  # sensors 0 and 3 dB over
        gauges=3, gauges_under=2,
    )  # fmt: skip
    found = components(a)
    assert found["aqi"] == (100.0, 66.667)  # 100 - 100/3
    assert found["noise"] == (1.5, 85.0)  # 100 - 10 x 1.5
    assert found["water"] == (66.667, 66.667)
    # (66.667 x 2 + 85 + 66.667) / 4 = 285.001 / 4
    assert indicator_scores(a)["environment"] == 71.25
    # PM2.5 300: 300 + (300 - 250) / 100 x 100 = 350: floored at 0
    assert components(AreaInputs(pollutants={"pm25": Mean(300.0, 1)}))["aqi"] == (350.0, 0.0)


def test_noise_limits_by_china_time_and_water_warnings() -> None:
    # 21:59 and 22:00 China time are 13:59 and 14:00 UTC
    assert noise_limit(13 * HOUR_MS + 59 * M, {}) == 60.0
    assert noise_limit(14 * HOUR_MS, {}) == 50.0
    assert noise_limit(22 * HOUR_MS, {"noise_day": 55.0}) == 55.0  # 06:00 China time
    assert water_warning("water_level", {"warning": 4.0}) == 4.0
    assert water_warning("water_level", {}) is None
    assert water_warning("pipe_level", {}) == 80.0


def test_nothing_to_judge_gives_none() -> None:
    assert set(indicator_scores(AreaInputs()).values()) == {None}
    found = components(AreaInputs())
    assert set(found.values()) == {(None, None)}
    # a cell with nothing in it has no backlog: service is judged on that alone
    assert indicator_scores(AreaInputs(cells=1)) == {
        "data": None, "governance": None, "service": 100.0, "economy": None,
        "environment": None,
    }  # fmt: skip


def test_roll_up_adds_counts_not_scores() -> None:
    one, two = AreaInputs(cells=1, sensors=1, fresh=1), AreaInputs(cells=1, sensors=3, fresh=1)
    one.dispatch.append((10.0, 30.0))
    two.dispatch += [(20.0, 30.0), (50.0, 30.0)]
    street_alert = AreaInputs()
    add_alert(street_alert, "street", raised_ms=0, acked_ms=M, end_ms=HOUR_MS)
    city_dead = AreaInputs(dead=2)
    areas = roll_up({CELL: one, CELL2: two, CELL.within("street"): street_alert,
                     Location("CB"): city_dead})  # fmt: skip
    assert sorted(areas) == [
        (AreaLevel.CITY, "CB"), (AreaLevel.DISTRICT, "D1"), (AreaLevel.GRID, "D1-S1-G01"),
        (AreaLevel.GRID, "D1-S1-G02"), (AreaLevel.STREET, "D1-S1"),
    ]  # fmt: skip
    street = components(areas[AreaLevel.STREET, "D1-S1"])
    assert street["fresh"] == (50.0, 50.0)  # 2 of 4, not the mean of 100 and 33.3
    # the median of 10, 20, 50 min = 20 against 30: 100 to 15, 0 at 60: 100 x 40 / 45
    assert street["dispatch_median"] == (20.0, 88.889)
    assert street["ack_on_time"] == (100.0, 100.0)  # the street's own alert
    assert components(areas[AreaLevel.GRID, "D1-S1-G01"])["ack_on_time"] == (None, None)
    assert areas[AreaLevel.CITY, "CB"].cells == 2
    assert components(areas[AreaLevel.CITY, "CB"])["dead_letter"] == (100.0, 0.0)
    assert components(areas[AreaLevel.DISTRICT, "D1"])["dead_letter"] == (None, None)
    assert (one.sensors, two.sensors) == (1, 3)  # the places are not changed


def test_hourly_means_the_minutes_that_had_a_value() -> None:
    def minute(m: int, fresh: float | None, complete: float | None) -> Score:
        parts = (Component("fresh", fresh, "%", fresh, 2.0),
                 Component("complete", complete, "%", complete, 2.0),
                 Component("dead_letter", None, "%", None, 1.0),
                 Component("shared", 50.0, "%", 50.0, 1.0))  # fmt: skip
        return Score(AreaLevel.GRID, "G", Indicator.DATA, HOUR_MS + m * M, None, parts)

    rows = [minute(0, 80.0, None), minute(1, 90.0, 120.0), minute(2, None, None)]
    [hour] = hourly(rows, HOUR_MS)
    assert hour.window_start_ms == HOUR_MS
    # fresh (80 + 90) / 2 = 85; complete: one minute, value 120 and score 120 as stored
    assert [(c.name, c.value, c.score) for c in hour.components] == [
        ("fresh", 85.0, 85.0), ("complete", 120.0, 120.0), ("dead_letter", None, None),
        ("shared", 50.0, 50.0),
    ]  # fmt: skip
    assert hour.score == 92.0  # (85 x 2 + 120 x 2 + 50) / 5 = 460 / 5


def _source(source_id: str, family: Family, metrics: set[str], where: Location,
            cadence_s: int = 60) -> Source:  # fmt: skip
    return Source(source_id, family, "k", frozenset(metrics), where, 0.0, 0.0, cadence_s)


def test_gather_places_stored_rows() -> None:
    end = 1_000 * HOUR_MS  # 16:00 UTC, 00:00 China time: night
    sources = [
        _source("air", Family.ENVIRONMENT, {"pm25", "noise"}, CELL, cadence_s=60),
        _source("gauge", Family.WATER, {"water_level"}, CELL, cadence_s=300),
        _source("car", Family.TRAFFIC, {"speed", "occupancy"}, CELL2),
        _source("reporter", Family.CASE, {"case_reports"}, CELL2),
    ]
    registry = Registry({s.source_id: s for s in sources},
                        {CELL.grid: CELL, CELL2.grid: CELL2})  # fmt: skip
    catalog = newest(family_entry(f, 60, f"t.{f.value}", 0) for f in Family)
    w = end // M - 1  # the window's minute
    stored = Stored(
        registry=registry,
        profiles={"gauge": ("", {"warning": 4.0})},
        catalog=catalog,
        readings=[("air", end - 30_000, 20), ("gauge", end - 400_000, 2)],
        case_messages=[("reporter", 3)],
        dead=[("air", 5), ("ghost", 1)],
        cases=[],
        evaluations=[("c1", 4, *CELL2.codes())],
        alerts=[],
        means=[(CELL.grid, "pm25", 150.0, 2)],
        usual=[],
        sensor_minutes=[
            ("air", w, "noise", 53.0, 60.0),  # night limit 50: 3 dB over
            ("gauge", w, "water_level", 3.5, 4.5),  # the window's highest over the warning
            ("car", w - 1, "speed", 15.0, 30.0),  # congested
            ("car", w, "speed", 40.0, 40.0),
            ("car", w, "occupancy", 20.0, 20.0),
        ],
    )  # fmt: skip
    places = gather(stored, end)
    cell, cell2, city = places[CELL], places[CELL2], places[Location("CB")]
    # air: 20 of 2 metrics x 15 min; gauge: 2 of 1 x 3 (300 s cadence)
    assert (cell.sensors, cell.fresh, cell.received, cell.expected) == (2, 1, 22, 33.0)
    assert (cell.messages, cell.dead, cell.sources, cell.shared) == (22, 5, 2, 2)
    assert (cell2.sensors, cell2.sources, cell2.messages) == (1, 2, 3)  # the reporter: a source
    assert city.dead == 1  # the unknown source's dead letter
    assert (cell.noise.total, cell.noise.count, cell.gauges, cell.gauges_under) == (3.0, 1, 1, 0)
    assert (cell2.traffic_minutes, cell2.congested) == (2, 1)
    assert cell.pollutants["pm25"].value == 75.0
    assert cell2.evaluation.value == 4.0
    scores = {(s.level.value, s.code, s.indicator.value): s for s in minute_scores(stored, end)}
    data = scores["street", "D1-S1", "data"]
    assert data.window_start_ms == end - M
    # fresh: 1 of 3 sensors (the gauge's 400 s > 300 s, the car sent nothing); complete:
    # 22 / (33 + 30 the car's) = 34.921 %; dead letters: 5 of 25 + 5 = 16.667 %
    assert [(c.name, c.value) for c in data.components] == [
        ("fresh", 33.333), ("complete", 34.921), ("dead_letter", 16.667), ("shared", 100.0),
    ]  # fmt: skip
    # the city also has the unknown source's dead letter: 6 of 31 = 19.355 %
    assert scores["city", "CB", "data"].components[2].value == 19.355


def test_data_that_began_minutes_ago_is_judged_over_those_minutes() -> None:
    """A product started 2 minutes before the window's end: 15 minutes of readings cannot
    be expected yet, nor freshness from a sensor whose 5-minute target has not run out."""
    end = 1_000 * HOUR_MS
    sources = [
        _source("air", Family.ENVIRONMENT, {"pm25", "noise"}, CELL, cadence_s=60),
        _source("car", Family.TRAFFIC, {"speed", "occupancy"}, CELL, cadence_s=60),
    ]
    registry = Registry({s.source_id: s for s in sources}, {CELL.grid: CELL})
    catalog = newest(family_entry(f, 60, f"t.{f.value}", 0) for f in Family)
    began = end - 2 * M
    stored = Stored(
        registry=registry, profiles={}, catalog=catalog,
        readings=[("air", end - 10_000, 4, began)],  # the car has not sent yet
        case_messages=[], dead=[], cases=[], evaluations=[], alerts=[], means=[], usual=[],
        sensor_minutes=[],
    )  # fmt: skip
    cell = gather(stored, end)[CELL]
    # expected over 2 minutes: 2 metrics x 2 per sensor = 8; only the air sensor is judged
    # on freshness (the car's 300 s target has not passed since the data began)
    assert (cell.sensors, cell.fresh, cell.received, cell.expected) == (1, 1, 4, 8.0)
    data = {s.code: s for s in minute_scores(stored, end) if s.indicator.value == "data"}
    assert [(c.name, c.value) for c in data[CELL.grid].components][:2] == [
        ("fresh", 100.0), ("complete", 50.0),
    ]  # fmt: skip
    # 10 minutes after the data began, the silent car is judged: stale, and missing
    later = replace(stored, readings=[("air", end - 10_000, 20, end - 10 * M)])
    cell = gather(later, end)[CELL]
    assert (cell.sensors, cell.fresh, cell.received, cell.expected) == (2, 1, 20, 40.0)


def test_latest_tick_reads_only_ticks() -> None:
    def message(value: bytes) -> Message:
        return Message("t", 0, 0, 0, None, value)

    batch = [message(b'{"type":"tick","ts_ms":120000}'), message(b'{"type":"decision"}'),
             message(b'{"type":"tick","ts_ms":60000}'), message(b"not json \"tick\"")]  # fmt: skip
    assert latest_tick(batch) == 120_000
    assert latest_tick([message(b'{"type":"case"}')]) is None


class FakeStore:
    """Records the minutes the runner computes; fails the minutes in ``failing``."""

    def __init__(self, failing: set[int] | None = None, last: int | None = None) -> None:
        self.computed: list[int] = []
        self.last = last
        self.failing = failing or set()
        self.sink = self
        self.resets = 0

    def write_minute(self, end_ms: int, version: int) -> int:
        if end_ms in self.failing:
            raise ConnectionError("server gone")
        self.computed.append(end_ms)
        return 1

    def reset(self) -> None:
        self.resets += 1

    def last_computed(self, since_ms: int) -> int | None:
        return self.last if self.last is not None and self.last >= since_ms else None


def _tick(ts_ms: int) -> Message:
    return Message("alerting", 0, 0, 0, None, orjson.dumps({"type": "tick", "ts_ms": ts_ms}))


async def _advance(runner: IndicatorRunner, *ticks: int) -> None:
    for tick in ticks:
        runner.advance([_tick(tick)])
        assert runner._task is not None
        await runner._task


def test_the_runner_computes_each_minute_the_ticks_pass_once() -> None:
    store = FakeStore()
    runner = IndicatorRunner(store, catchup_min=5)  # type: ignore[arg-type]

    async def run() -> None:
        await _advance(runner, 10 * M)  # the first tick: its own minute only
        await _advance(runner, 10 * M)  # the same tick again: nothing new
        await _advance(runner, 12 * M)  # two minutes passed
        await _advance(runner, 30 * M)  # far behind: the latest 5 minutes only
        await runner.stop()

    asyncio.run(run())
    assert [end // M for end in store.computed] == [10, 11, 12, 26, 27, 28, 29, 30]


def test_a_failing_minute_is_retried_at_the_next_ticks_then_skipped() -> None:
    store = FakeStore(failing={11 * M})
    runner = IndicatorRunner(store, catchup_min=60)  # type: ignore[arg-type]

    async def run() -> None:
        await _advance(runner, 10 * M, 11 * M, 12 * M)  # 11 fails at two ticks
        assert [end // M for end in store.computed] == [10]
        await _advance(runner, 13 * M)  # the third failure: skipped, the later ones go on
        await runner.stop()

    asyncio.run(run())
    assert [end // M for end in store.computed] == [10, 12, 13]
    assert store.resets == 3  # the connection is dropped after each failure


def test_the_readme_documents_every_formula_as_specs_says() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Indicators", 1)[1].split("\n## ", 1)[0]
    for spec in SPECS:
        row = f"| `{spec.name}` | {spec.unit} | {spec.weight:g} | {spec.en} |"
        assert row in section, spec.name


def test_a_restarted_runner_carries_on_after_the_last_minute_stored() -> None:
    store = FakeStore(last=7 * M)  # the minute ending at 7 is the last stored
    runner = IndicatorRunner(store, catchup_min=60)  # type: ignore[arg-type]

    async def run() -> None:
        await _advance(runner, 10 * M)
        await runner.stop()

    asyncio.run(run())
    assert [end // M for end in store.computed] == [8, 9, 10]
    far = FakeStore(last=7 * M)  # before the catch-up window: as if none were stored
    runner = IndicatorRunner(far, catchup_min=2)  # type: ignore[arg-type]

    async def run_far() -> None:
        await _advance(runner, 10 * M)
        await runner.stop()

    asyncio.run(run_far())
    assert [end // M for end in far.computed] == [10]
