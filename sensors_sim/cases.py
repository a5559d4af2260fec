"""Grid-management case reports: grid workers and the citizen hotline file cases. Moving a
case along its lifecycle is the operators' work (case actions in the command center); only
a desk that plays the departments (demo runs) moves earlier cases on by itself."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from detectors.contract.city import Area
from detectors.contract.events import (
    CASE_CATEGORIES,
    CASE_STATUSES,
    CaseReport,
    Location,
    Source,
)
from sensors_sim.geometry import point_in_quad

HOTLINE = "HOTLINE"
"""The source id of cases phoned in by citizens (12345 hotline): not a registered source."""

HOTLINE_SHARE = 0.3
ADVANCE_PROBABILITY = 0.7
MAX_OPEN_CASES = 256
"""Cases followed for lifecycle steps; older ones stay where they are, like a backlog."""

CATEGORY_TEXT: dict[str, str] = {
    "road_damage": "路面坑洼破损，影响车辆通行",
    "illegal_parking": "机动车违停占用人行道",
    "garbage": "垃圾堆放未及时清运",
    "manhole_cover": "窨井盖缺失，存在安全隐患",
    "waterlogging": "路段积水，行人绕行",
    "noise_complaint": "夜间施工噪声扰民",
    "street_light": "路灯不亮，夜间照明不足",
    "illegal_construction": "疑似违章搭建",
}

STEP_TEXT: dict[str, str] = {
    "dispatched": "已派遣至街道处置",
    "accepted": "责任单位已受理",
    "handled": "已处置完毕，待核查",
    "verified": "网格员现场核查通过",
    "closed": "案件已结案",
    "evaluated": "市民评价：满意",
}


@dataclass(frozen=True, slots=True)
class Case:
    """A case being followed: what, where, who reported it and where it is in its
    lifecycle."""

    case_id: str
    category: str
    status: str
    source_id: str
    location: Location
    lon: float
    lat: float


@dataclass(frozen=True, slots=True)
class CaseDesk:
    """The grid-management centre's desk: who can report, where, and the open cases."""

    run_tag: str
    workers: tuple[Source, ...]
    cells: tuple[tuple[Location, Area], ...]
    cells_by_street: Mapping[str, tuple[tuple[Location, Area], ...]]
    open_cases: deque[Case]
    play_departments: bool = False

    @classmethod
    def for_city(
        cls,
        workers: Sequence[Source],
        cells: Sequence[tuple[Location, Area]],
        run_tag: str,
        play_departments: bool = False,
    ) -> CaseDesk:
        """A desk with no open cases; ``run_tag`` keeps case ids of different runs apart;
        ``play_departments``: it moves its cases along too (demo runs)."""
        by_street: dict[str, list[tuple[Location, Area]]] = {}
        for cell in cells:
            by_street.setdefault(cell[0].street, []).append(cell)
        streets = {street: tuple(found) for street, found in by_street.items()}
        return cls(run_tag, tuple(workers), tuple(cells), streets, deque(), play_departments)

    def next_event(self, event_id: str, ts_ms: int, number: int, rng: random.Random) -> CaseReport:
        """The next case event: a newly filed case, or (playing the departments) a
        lifecycle step of an open one."""
        advance = self.play_departments and self.open_cases
        if advance and rng.random() < ADVANCE_PROBABILITY:
            case = self._advance(self.open_cases.popleft())
            text, photo = STEP_TEXT[case.status], ""
            if case.status == "handled":
                photo = f"photo/{case.case_id}/after.jpg"
        else:
            case = self._file(number, rng)
            text, photo = CATEGORY_TEXT.get(case.category, case.category), ""
            if rng.random() < 0.8:
                photo = f"photo/{case.case_id}/report.jpg"
        if self.play_departments and case.status != CASE_STATUSES[-1]:
            self.open_cases.append(case)
            if len(self.open_cases) > MAX_OPEN_CASES:
                self.open_cases.popleft()
        return case_event(case, event_id, ts_ms, text, photo)

    def _advance(self, case: Case) -> Case:
        step = CASE_STATUSES.index(case.status) + 1
        return replace(case, status=CASE_STATUSES[step])

    def _file(self, number: int, rng: random.Random) -> Case:
        if self.workers and rng.random() >= HOTLINE_SHARE:
            worker = rng.choice(self.workers)
            reporter = worker.source_id
            location, cell = rng.choice(self.cells_by_street[worker.location.street])
        else:
            reporter = HOTLINE
            location, cell = rng.choice(self.cells)
        lon, lat = point_in_quad(cell.ring, rng.uniform(0.05, 0.95), rng.uniform(0.05, 0.95))
        category = rng.choice(CASE_CATEGORIES)
        case_id = f"CS-{self.run_tag}-{number:06d}"
        return Case(case_id, category, "filed", reporter, location, lon, lat)


def case_event(case: Case, event_id: str, ts_ms: int, text: str, photo_ref: str) -> CaseReport:
    """The event that reports ``case`` where it now is; its wire form is
    :func:`detectors.contract.wire.encode_case`."""
    return CaseReport(
        event_id, ts_ms, case.case_id, case.category, case.status, case.source_id,
        case.location, case.lon, case.lat, text, photo_ref,
    )  # fmt: skip
