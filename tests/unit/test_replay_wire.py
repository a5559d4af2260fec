"""Stored rows re-encoded for a replay validate into exactly the events they were stored
from: the worker sees the same readings and case reports as the live pipeline did."""

from __future__ import annotations

import orjson

from detectors.contract.events import CaseReport, Family, Location, Reading, Source
from detectors.contract.validation import Registry, TimeBounds, validate
from replay.wire import case_message, reading_message
from replay.worker import OPEN_TIME_CHECK_S

WHERE = Location("CB", "D2", "D2-S3", "D2-S3-G07")
REGISTRY = Registry(
    sources={
        "ENV-0042": Source("ENV-0042", Family.ENVIRONMENT, "air_station",
                           frozenset({"pm25", "no2"}), WHERE, 120.1, 30.2, 60),
    },
    grids={WHERE.grid: WHERE},
)  # fmt: skip
# Years after the events: a replay's worker opens the time checks this wide.
LATER = TimeBounds(now_ms=1_900_000_000_000, max_future_ms=OPEN_TIME_CHECK_S * 1000,
                   max_age_ms=OPEN_TIME_CHECK_S * 1000)  # fmt: skip


def test_a_reading_row_validates_into_the_same_reading() -> None:
    row = ("0b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6b", 1764115200123, "environment", "ENV-0042",
           "pm25", 87.5, "CB", "D2", "D2-S3", "D2-S3-G07")  # fmt: skip
    message = reading_message(row)
    assert message.family is Family.ENVIRONMENT and message.key == b"D2"
    assert message.ts_ms == 1764115200123
    assert validate(message.value, Family.ENVIRONMENT, REGISTRY, LATER) == Reading(
        row[0], 1764115200123, Family.ENVIRONMENT, "ENV-0042", "pm25", 87.5, WHERE
    )
    assert orjson.loads(message.value)["schema_version"] == 1


def test_a_whole_number_value_stays_a_number() -> None:
    row = ("0b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6c", 1, "environment", "ENV-0042", "no2", 40.0,
           "CB", "D2", "D2-S3", "D2-S3-G07")  # fmt: skip
    verdict = validate(reading_message(row).value, Family.ENVIRONMENT, REGISTRY, LATER)
    assert isinstance(verdict, Reading) and verdict.value == 40.0


def test_a_case_row_validates_into_the_same_case_report_keyed_by_district() -> None:
    row = ("1b6f8e2c-4c1e-5d3a-9f7b-1c2d3e4f5a6b", 1764115200000, "CS-ab12cd34-000007",
           "manhole_cover", "dispatched", "hotline", "CB", "D2", "D2-S3", "D2-S3-G07",
           120.123456, 30.654321, "井盖缺失 manhole cover", "photo/CS-7/report.jpg")  # fmt: skip
    message = case_message(row)
    assert message.family is Family.CASE and message.key == b"D2"
    assert validate(message.value, Family.CASE, REGISTRY, LATER) == CaseReport(
        row[0], 1764115200000, "CS-ab12cd34-000007", "manhole_cover", "dispatched", "hotline",
        WHERE, 120.123456, 30.654321, "井盖缺失 manhole cover", "photo/CS-7/report.jpg",
    )  # fmt: skip
