"""What operators call things and what they do first: metric names, hazards and the
first action for each kind of trouble, in English and Chinese.

Each alert falls under one playbook entry, chosen by its metric and category. A broken
sensor is its own entry whatever it measures; a signal fault or an open breaker reported
by a device is a real-world fault, not a broken sensor:

>>> playbook_key("fault", "water_level"), playbook_key("fault", "breaker_open")
('sensor_fault', 'outage')
>>> playbook_key("area", "pm25"), playbook_key("condition", "no_such_metric")
('air', 'other')
>>> metric_name("water_level", "zh"), unit_text("veh/h", "zh"), unit_text("degC", "en")
('水位', '辆/小时', '°C')
"""

from __future__ import annotations

from dataclasses import dataclass

from detectors.contract.alerts import Category


@dataclass(frozen=True, slots=True)
class Play:
    """One playbook entry: the hazard as operators name it and the first thing to do."""

    hazard: tuple[str, str]  # (en, zh)
    action: tuple[str, str]  # (en, zh)


PLAYBOOK: dict[str, Play] = {
    "air": Play(
        ("Air pollution", "空气污染"),
        ("Check nearby emission sources (construction dust, traffic, industry), tell the "
         "environment bureau and advise sensitive groups to stay indoors.",
         "排查周边排放源（工地扬尘、交通、工业），通报生态环境部门，提醒敏感人群减少户外活动。"),
    ),
    "noise": Play(
        ("Noise nuisance", "噪声扰民"),
        ("Find the source (night-time construction, venues) and send the grid worker or the "
         "enforcement team.",
         "查找噪声源（夜间施工、娱乐场所），派网格员或执法队员到场处置。"),
    ),
    "weather": Play(
        ("Unusual weather", "气象异常"),
        ("Check the weather service's warnings; in heat, open cooling points and check on "
         "residents who live alone.",
         "核对气象部门预警；高温时开放避暑点，关注独居老人等重点人群。"),
    ),
    "traffic": Play(
        ("Traffic congestion", "交通拥堵"),
        ("Look at the road cameras, send traffic police to the spot and consider signal "
         "timing or a diversion.",
         "调看道路监控，派交警到场疏导，视情调整信号配时或分流。"),
    ),
    "signal": Play(
        ("Traffic signal fault", "信号灯故障"),
        ("Call the signal maintenance crew and send traffic police to direct the junction.",
         "通知信号灯维护单位抢修，派交警到路口指挥通行。"),
    ),
    "flood": Play(
        ("Flood risk", "内涝风险"),
        ("Check the river and drainage cameras, alert the flood-control office and get pumps "
         "and crews to low-lying roads and underpasses.",
         "查看河道和排水监控，通知防汛办，在低洼路段和下穿通道预置泵车和抢险人员。"),
    ),
    "water_main": Play(
        ("Water-main pressure problem", "供水管网压力异常"),
        ("Ask the water utility to look for a burst main or a failed pump in the area.",
         "通知供水企业排查该区域爆管或泵站故障。"),
    ),
    "power": Play(
        ("Power-grid stress", "电网运行异常"),
        ("Tell the power company's dispatch; have the feeder checked and a load transfer "
         "prepared.",
         "通知供电公司调度，检查线路并准备负荷转供。"),
    ),
    "outage": Play(
        ("Power outage", "停电"),
        ("Call the power company's emergency repair and check that hospitals and lifts in "
         "the area have power.",
         "通知供电抢修，核实该区域医院、电梯等重要用户是否断电。"),
    ),
    "cases": Play(
        ("Surge of citizen reports", "群众上报激增"),
        ("Read the area's newest case reports and send the grid workers to look on the spot.",
         "查看该区域最新上报案件，派网格员现场核实。"),
    ),
    "sensor_fault": Play(
        ("Sensor fault", "传感器故障"),
        ("Do not trust its readings until repaired: check them against nearby sensors and "
         "open a repair ticket with the sensor's owner.",
         "修复前其数据不可采信：对照周边传感器核实，并向设备所属单位派发维修工单。"),
    ),
    "other": Play(
        ("Unusual readings", "数据异常"),
        ("Check the readings against nearby sensors and confirm on the spot.",
         "对照周边传感器核实读数，必要时现场确认。"),
    ),
}  # fmt: skip

PLAY_OF_METRIC: dict[str, str] = {
    "pm25": "air", "pm10": "air", "no2": "air", "o3": "air", "noise": "noise",
    "temperature": "weather", "humidity": "weather",
    "flow": "traffic", "speed": "traffic", "occupancy": "traffic", "signal_fault": "signal",
    "water_level": "flood", "rainfall": "flood", "pipe_level": "flood",
    "main_pressure": "water_main",
    "load": "power", "voltage": "power", "frequency": "power", "breaker_open": "outage",
    "case_reports": "cases",
}  # fmt: skip
DEVICE_FAULTS = frozenset({"signal_fault", "breaker_open"})
"""Metrics whose alarm is a reported fault of the equipment, not of the sensor."""

METRIC_NAMES: dict[str, tuple[str, str]] = {
    "pm25": ("PM2.5", "PM2.5"), "pm10": ("PM10", "PM10"), "no2": ("NO2", "二氧化氮"),
    "o3": ("ozone", "臭氧"), "noise": ("noise", "噪声"), "temperature": ("temperature", "气温"),
    "humidity": ("humidity", "湿度"), "flow": ("traffic flow", "车流量"),
    "speed": ("traffic speed", "车速"), "occupancy": ("road occupancy", "道路占有率"),
    "signal_fault": ("traffic signal", "交通信号灯"), "water_level": ("water level", "水位"),
    "rainfall": ("rainfall", "降雨量"), "pipe_level": ("drainage pipe level", "排水管道水位"),
    "main_pressure": ("water-main pressure", "供水管网压力"), "load": ("feeder load", "线路负荷"),
    "voltage": ("voltage", "电压"), "frequency": ("grid frequency", "电网频率"),
    "breaker_open": ("breaker", "断路器"), "case_reports": ("citizen reports", "群众上报"),
    "data_quality": ("data quality", "数据质量"),
}  # fmt: skip
DETECTOR_NAMES: dict[str, tuple[str, str]] = {
    "static": ("limit rule", "限值规则"), "rainstorm": ("rainstorm rule", "暴雨预警规则"),
    "forecast": ("forecast", "趋势预测"), "seasonal": ("usual daily pattern", "日常规律"),
    "robust_z": ("recent readings", "近期读数"), "ewma": ("trend chart", "趋势控制图"),
    "cusum": ("drift chart", "累积偏移控制图"),
    "multivariate": ("multi-metric model", "多指标模型"),
    "silent": ("silence check", "无数据检测"), "stuck": ("stuck-reading check", "读数不变检测"),
    "burst": ("report surge check", "上报激增检测"),
    "neighbours": ("neighbour comparison", "周边比对"),
    "default": ("general anomaly check", "通用异常检测"),
    "promise": ("catalog promise check", "数据目录承诺检查"),
}  # fmt: skip
"""The detectors of the banks (detectors/scoring/profiles.py) as operators name them."""
UNITS: dict[str, tuple[str, str]] = {
    "ug/m3": ("μg/m³", "μg/m³"), "degC": ("°C", "°C"), "veh/h": ("veh/h", "辆/小时"),
    "mm/5min": ("mm/5 min", "毫米/5分钟"), "reports": ("", "件"), "flag": ("", ""),
}  # fmt: skip
"""Units as people write them (an on/off flag has none); the others are shown as they are."""


def playbook_key(category: str, metric: str) -> str:
    """The playbook entry of an alert on ``metric`` of ``category``."""
    if category == Category.FAULT and metric not in DEVICE_FAULTS:
        return "sensor_fault"
    return PLAY_OF_METRIC.get(metric, "other")


def pick(pair: tuple[str, str], lang: str) -> str:
    """The Chinese text for 'zh', else the English one."""
    return pair[1] if lang == "zh" else pair[0]


def metric_name(metric: str, lang: str) -> str:
    """A metric as operators name it (an unknown one as it is, underscores as spaces)."""
    plain = metric.replace("_", " ")
    return pick(METRIC_NAMES.get(metric, (plain, plain)), lang)


def detector_name(label: str, lang: str) -> str:
    """A detector as operators name it (an unknown one as it is, underscores as spaces)."""
    plain = label.replace("_", " ")
    return pick(DETECTOR_NAMES.get(label, (plain, plain)), lang)


def unit_text(unit: str, lang: str) -> str:
    """A unit as shown after a number."""
    return pick(UNITS.get(unit, (unit, unit)), lang)


# -- overdue cases ---------------------------------------------------------------------
OVERDUE_CASE = ("Overdue case", "案件超时")
"""The hazard of an overdue case's alert."""

CASE_KINDS: dict[str, tuple[str, str]] = {
    "road_damage": ("road damage", "道路破损"), "illegal_parking": ("illegal parking", "违法停车"),
    "garbage": ("garbage", "垃圾堆放"), "manhole_cover": ("manhole cover", "井盖缺失"),
    "waterlogging": ("waterlogging", "道路积水"),
    "noise_complaint": ("noise complaint", "噪声投诉"),
    "street_light": ("street light", "路灯故障"),
    "illegal_construction": ("illegal construction", "违法建设"),
}  # fmt: skip
"""Case categories as operators name them (an unknown one as it is)."""

CASE_STEP_NAMES: dict[str, tuple[str, str]] = {
    "filed": ("filing", "立案"), "dispatched": ("dispatch", "派遣"),
    "accepted": ("acceptance", "受理"), "handled": ("handling", "处置"),
    "verified": ("verification", "核查"), "closed": ("closing", "结案"),
    "evaluated": ("evaluation", "评价"),
}  # fmt: skip
"""A case's lifecycle steps as operators name them (an unknown one as it is)."""

CASE_WAITING: dict[str, tuple[str, str]] = {
    "dispatched": ("waiting to be dispatched", "待派遣"),
    "accepted": ("waiting to be accepted", "待受理"),
    "handled": ("waiting to be handled", "待处置"),
    "verified": ("waiting to be verified", "待核查"),
    "closed": ("waiting to be closed", "待结案"),
    "evaluated": ("waiting to be evaluated", "待评价"),
}
"""What a case late on a step is waiting for."""

CASE_PLAYS: dict[str, tuple[str, str]] = {
    "dispatched": ("Dispatch it now to the department that must act, or have the grid worker "
                   "confirm it on the spot.",
                   "立即派遣至责任部门，或请网格员现场核实。"),
    "accepted": ("Call the department it was dispatched to and have it accepted, or dispatch "
                 "it to another.",
                 "电话督促承办部门受理，必要时改派其他部门。"),
    "handled": ("Press the department to finish the work and send the grid worker to see how "
                "far it is.",
                "督促承办部门尽快处置完毕，派网格员现场查看进展。"),
    "verified": ("Send the grid worker to check the work on the spot, then pass it or send it "
                 "back.",
                 "派网格员现场核查处置结果，核查通过或退回重办。"),
    "closed": ("Close the verified case.", "对已核查通过的案件办结归档。"),
    "evaluated": ("Call the reporter back for their evaluation and record it.",
                  "回访上报人，完成满意度评价。"),
}  # fmt: skip
"""The first action for a case late on each step."""
CASE_PLAY_OTHER = ("Open the case and move it on to its next step.", "打开案件，推进至下一环节。")
