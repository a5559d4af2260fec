"""Explanations of alerts and incidents: operator language in both languages, every
playbook entry, how far from the limit or from normal, and never an id in a sentence."""

from __future__ import annotations

import re
from datetime import UTC
from typing import Any

import pytest

from detectors.alerting.engine import AlertEngine
from detectors.alerting.explain import CHINA_TIME, Explanation, Facts, explain, place_text
from detectors.alerting.playbook import PLAY_OF_METRIC, PLAYBOOK, playbook_key
from detectors.alerting.types import Decision, with_lead
from detectors.contract.alerts import ALERT_CATEGORIES, Category
from detectors.contract.events import METRICS
from detectors.contract.places import Location

MIN = 60_000
OPENED = 1_714_543_380_000  # 2024-05-01 06:03 UTC, 14:03 UTC+8
WHERE = Location("CB", "D1", "D1-S1", "D1-S1-G01")
NAMES_EN = {"CB": "Citybrain City", "D1": "Riverside", "D1-S1": "Changhe",
            "D1-S1-G01": "Changhe grid 01"}  # fmt: skip
NAMES_ZH = {"CB": "城市大脑示范市", "D1": "滨江区", "D1-S1": "长河街道",
            "D1-S1-G01": "长河街道第01网格"}  # fmt: skip
NAMES = {"en": NAMES_EN, "zh": NAMES_ZH}
SOURCE = "WAT-0001"
ALERT_ID = "91d248f7-361e-5ba4-b7f1-3d74dc1826ce"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
CJK = re.compile(r"[\u4e00-\u9fff]")
CODES = ("D1-S1-G01", "D1-S1", "D1", "CB")
DETECTORS = ("static", "forecast", "seasonal", "robust_z", "neighbours", "silent", "stuck",
             "burst", "multivariate", "")  # fmt: skip


def evidence(metric: str = "water_level", **fields: Any) -> dict[str, Any]:
    """Evidence as the engine stores it, with the ids an alert carries."""
    base = {"source_id": SOURCE, "metric": metric, "detector": "static", "value": 4.2,
            "score": 0.78, "threshold": None, "forecast_ts_ms": None, "expected": None,
            "z": None, "ts_ms": OPENED, "alert_id": ALERT_ID}  # fmt: skip
    return {**base, **fields}


def said(category: str, lang: str, ev: dict[str, Any], **kw: Any) -> Explanation:
    facts = Facts(category, kw.pop("where", WHERE), kw.pop("scope", ""), OPENED, ev)
    return explain(facts, lang, kw.pop("names", NAMES[lang]), kw.pop("tz", UTC))


def assert_no_ids(text: str, lang: str) -> None:
    assert not UUID.search(text), text
    assert SOURCE not in text and ALERT_ID not in text, text
    for code in CODES:  # names are known: no area code in a sentence
        assert not re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text), (code, text)
    if lang == "zh":
        assert CJK.search(text), text
    else:
        assert not CJK.search(text), text


# -- the numbers -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("fields", "en", "zh"),
    [
        ({"value": 4.2, "threshold": 4.0}, "water level 4.2 m, 5 % over the limit 4 m",
         "水位 4.2 m，超过限值 4 m 5%"),
        ({"value": 9.0, "threshold": 4.0}, "2.2 times the limit 4 m", "为限值 4 m 的2.2倍"),
        ({"value": 4.0, "threshold": 4.0}, "at the limit 4 m", "达到限值 4 m"),
        ({"value": 3.6, "threshold": 4.0}, "10 % below the limit 4 m", "低于限值 4 m 10%"),
        ({"value": 6.0, "expected": 2.0, "z": 4.26}, "3 times the usual 2 m (4.3 σ)",
         "为常态 2 m 的3倍（4.3 σ）"),
        ({"value": 2.5, "expected": 2.0, "z": 2.0}, "25 % above the usual 2 m (2 σ)",
         "比常态 2 m 高25%（2 σ）"),
        ({"value": 1.5, "expected": 2.0, "z": -3.1}, "25 % below the usual 2 m (3.1 σ)",
         "比常态 2 m 低25%（3.1 σ）"),
        ({"value": 2.1, "expected": 2.0, "z": 0.4}, "5 % above the usual 2 m.",
         "比常态 2 m 高5%。"),
    ],
)  # fmt: skip
def test_how_far_from_the_limit_or_from_normal(fields: dict[str, Any], en: str, zh: str) -> None:
    assert en in said(Category.CONDITION, "en", evidence(**fields)).headline
    assert zh in said(Category.CONDITION, "zh", evidence(**fields)).headline


def test_a_forecast_says_when_the_limit_is_reached() -> None:
    ev = evidence(value=3.7, threshold=4.0, detector="forecast", forecast_ts_ms=OPENED + 27 * MIN)
    en = explain(Facts(Category.CONDITION, WHERE, "", OPENED, ev), "en", NAMES_EN)
    assert "water level 3.7 m, the limit is 4 m" in en.headline  # not yet over it
    assert en.forecast == "Forecast: reaches the limit 4 m at 2024-05-01 14:30 UTC+8."
    zh = explain(Facts(Category.CONDITION, WHERE, "", OPENED, ev), "zh", NAMES_ZH, CHINA_TIME)
    assert zh.forecast == "预测：将于2024-05-01 14:30 UTC+8达到限值 4 m。"
    assert said(Category.CONDITION, "en", evidence(threshold=4.0)).forecast == ""


def test_an_all_clear_says_what_is_over_without_old_readings() -> None:
    assert said(Category.CONDITION, "en", evidence(threshold=4.0)).ended == (
        "Flood risk at Changhe grid 01, Riverside district: over."
    )
    assert said(Category.CONDITION, "zh", evidence(threshold=4.0)).ended == (
        "滨江区长河街道第01网格内涝风险已解除。"
    )


def test_since_when_in_the_viewers_clock() -> None:
    assert said(Category.CONDITION, "en", evidence()).since == "Since 2024-05-01 06:03 UTC."
    china = said(Category.CONDITION, "zh", evidence(), tz=CHINA_TIME)
    assert china.since == "自2024-05-01 14:03 UTC+8起。"
    unknown = explain(Facts(Category.CONDITION, WHERE, "", 0, evidence()), "en", NAMES_EN)
    assert unknown.since == "" and "Since" not in unknown.text


# -- where -------------------------------------------------------------------------------
def test_places_by_name_with_their_district() -> None:
    assert place_text(WHERE, "", NAMES_EN, "en") == "Changhe grid 01, Riverside district"
    assert place_text(WHERE, "", NAMES_ZH, "zh") == "滨江区长河街道第01网格"
    assert place_text(WHERE, "street", NAMES_EN, "en") == "Changhe street, Riverside district"
    assert place_text(WHERE, "street", NAMES_ZH, "zh") == "滨江区长河街道"
    assert place_text(WHERE, "district", NAMES_ZH, "zh") == "滨江区"
    assert place_text(WHERE, "city", NAMES_EN, "en") == "Citybrain City"
    assert place_text(Location("CB"), "city", {}, "zh") == "全市"


def test_an_area_without_a_name_is_said_by_its_code_and_level() -> None:
    assert place_text(WHERE, "", {}, "en") == "grid cell D1-S1-G01, district D1"
    assert place_text(WHERE, "", {}, "zh") == "D1区D1-S1-G01网格"


# -- every playbook entry, both languages --------------------------------------------------
def _case_of(key: str) -> tuple[str, str]:
    """A category and metric that land on the playbook entry ``key``."""
    if key == "sensor_fault":
        return Category.FAULT, "water_level"
    if key == "other":
        return Category.CONDITION, "no_such_metric"
    metric = next(m for m, k in PLAY_OF_METRIC.items() if k == key)
    category = Category.FAULT if key in ("signal", "outage") else Category.CONDITION
    return category, metric


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("key", sorted(PLAYBOOK))
def test_every_playbook_entry_gives_its_hazard_and_first_action(key: str, lang: str) -> None:
    category, metric = _case_of(key)
    assert playbook_key(category, metric) == key
    text = said(category, lang, evidence(metric, value=2.0, threshold=1.0)).text
    play = PLAYBOOK[key]
    side = 1 if lang == "zh" else 0
    hazard, action = play.hazard[side], play.action[side]
    assert hazard in text and action in text
    assert ("首要处置：" if lang == "zh" else "First action: ") in text
    assert_no_ids(text, lang)


def test_every_metric_has_a_playbook_entry_and_a_name() -> None:
    from detectors.alerting.playbook import METRIC_NAMES

    assert set(METRICS) <= set(PLAY_OF_METRIC) and set(METRICS) <= set(METRIC_NAMES)


@pytest.mark.parametrize(
    ("fields", "en", "zh"),
    [
        ({"detector": "silent", "value": float("nan"), "threshold": 600_000},
         "the water level sensor has sent nothing for over 10 min", "水位传感器超过10分钟无数据"),
        ({"detector": "stuck", "value": 3.2}, "keeps sending the same reading (3.2 m)",
         "水位传感器读数长时间不变（3.2 m）"),
        ({"detector": "neighbours", "value": 0.4}, "disagrees with its neighbours (0.4 m)",
         "与周边传感器明显不符（0.4 m）"),
    ],
)  # fmt: skip
def test_a_broken_sensor_says_what_is_wrong_with_it(
    fields: dict[str, Any], en: str, zh: str
) -> None:
    assert en in said(Category.FAULT, "en", evidence(**fields)).headline
    assert zh in said(Category.FAULT, "zh", evidence(**fields)).headline
    assert "Sensor fault at" in said(Category.FAULT, "en", evidence(**fields)).headline


def test_an_area_alert_says_its_neighbours_agree() -> None:
    ev = evidence("noise", value=78.0, detector="neighbours", source_id="D1-S1-noise-group")
    assert "noise 78 dB(A), several neighbouring sensors agree" in said("area", "en", ev).text
    assert "周边多个传感器同时异常" in said("area", "zh", ev).text
    assert "group" not in said("area", "en", ev).text  # the group's id is no sentence


# -- incidents -----------------------------------------------------------------------------
def incident_evidence(**lead: Any) -> dict[str, Any]:
    gravest = {**evidence(value=4.6, threshold=4.0), "category": "condition", "level": 2, **lead}
    return {"alerts": 3, "metrics": ["water_level", "rainfall"], "lead": gravest}


def test_an_incident_names_its_area_size_and_gravest_alert() -> None:
    street = Location("CB", "D1", "D1-S1", "D1-S1-G01")
    en = said(Category.INCIDENT, "en", incident_evidence(), scope="street", where=street)
    assert en.headline == (
        "Flood risk in Changhe street, Riverside district: 3 active alerts (water level, "
        "rainfall); the gravest: water level 4.6 m, 15 % over the limit 4 m."
    )
    zh = said(Category.INCIDENT, "zh", incident_evidence(), scope="street", where=street)
    assert zh.headline == (
        "滨江区长河街道内涝风险：3条活动预警（水位、降雨量）；"
        "最严重：水位 4.6 m，超过限值 4 m 15%。"
    )
    assert PLAYBOOK["flood"].action[1] in zh.action


def test_an_incident_of_several_hazards_and_none_active() -> None:
    quiet = {"alerts": 0, "metrics": ["pm25", "noise"]}
    en = said(Category.INCIDENT, "en", quiet, scope="district")
    assert en.headline == (
        "Air pollution and noise nuisance in Riverside district: no alert is active any more."
    )
    assert said(Category.INCIDENT, "zh", quiet, scope="district").headline == (
        "滨江区空气污染、噪声扰民：已无活动预警。"
    )


# -- no ids, anywhere ------------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("category", [*ALERT_CATEGORIES, Category.INCIDENT])
def test_no_id_leaks_into_any_sentence(category: str, lang: str) -> None:
    """Every metric, detector and evidence shape: ids stay out of the sentences."""
    shapes = [{"value": 5.0, "threshold": 4.0}, {"value": 5.0, "expected": 1.0, "z": 6.0},
              {"value": 3.0, "threshold": 4.0, "forecast_ts_ms": OPENED + MIN},
              {"value": float("nan")}, {"value": None}]  # fmt: skip
    for metric in [*METRICS, "no_such_metric"]:
        for detector in DETECTORS:
            for shape in shapes:
                ev = evidence(metric, detector=detector, **shape)
                if category == Category.INCIDENT:
                    ev = {"alerts": 2, "metrics": [metric], "lead": {**ev, "category": "area"},
                          "incident_id": ALERT_ID}  # fmt: skip
                for scope in ("", "street", "district", "city"):
                    text = said(category, lang, ev, scope=scope).text
                    assert_no_ids(text, lang)


FIELDS = ("metric", "value", "threshold", "expected", "z", "forecast_ts_ms", "detector",
          "alerts", "metrics", "lead")  # fmt: skip


@pytest.mark.parametrize("category", [*ALERT_CATEGORIES, Category.INCIDENT, "", "junk"])
def test_evidence_of_the_wrong_shape_explains_what_it_can(category: str) -> None:
    """A record from another version or a broken producer: no exception, still a sentence."""
    odd: list[Any] = ["x", None, True, [1], {"a": 1}, -1, 10**30, float("inf")]
    for value in odd:
        ev = dict.fromkeys(FIELDS, value)
        for lang in ("en", "zh"):
            text = explain(Facts(category, WHERE, "", 10**30, ev), lang, NAMES[lang]).text
            assert text and (("首要处置" if lang == "zh" else "First action") in text)


def test_the_engine_reasons_carry_no_ids() -> None:
    """An alert joining an incident once said 'into <incident uuid>'."""
    engine = AlertEngine()
    events = []
    for n, grid in enumerate(("D1-S1-G01", "D1-S1-G02", "D1-S2-G01")):
        where = Location("CB", "D1", grid[:5], grid)
        decision = Decision(f"S{n}:pm25:condition", "condition", f"S{n}", "pm25", where,
                            "static", 0.9, 180.0, n * MIN, threshold=75.0)  # fmt: skip
        events += engine.step([decision], now_ms=n * MIN)
    events += engine.tick(300 * MIN)
    assert {e.kind for e in events} >= {"grouped", "incident_opened", "incident_widened"}
    for event in events:
        assert not UUID.search(event.reason), (event.kind, event.reason)


def test_an_incident_event_leads_with_its_gravest_alert() -> None:
    engine = AlertEngine()
    mild = Decision("A:water_level:condition", "condition", "A", "water_level", WHERE,
                    "static", 0.6, 4.1, 0, threshold=4.0)  # fmt: skip
    grave = Decision("B:water_level:condition", "condition", "B", "water_level", WHERE,
                     "static", 0.9, 5.1, MIN, threshold=5.0, z=None)  # fmt: skip
    events = engine.step([mild], now_ms=0) + engine.step([grave], now_ms=MIN)
    led = [with_lead(e, engine.active.values()) for e in events]
    incident_events = [e for e in led if not e.alert_id]
    assert incident_events and all(e.evidence["lead"]["source_id"] == "B"
                                   for e in incident_events[1:])  # fmt: skip
    assert incident_events[-1].evidence["lead"]["level"] == 3
    alert_events = [e for e in led if e.alert_id]
    assert all("lead" not in e.evidence for e in alert_events)
    assert all(e.opened_ms in (0, MIN) for e in led) and led[0].record()["opened"] == 0
