"""What the command center can ask of its data: the one declaration of every query.

Each method of :class:`Queries` is one query: its name (also its metric label), its
arguments and its answer. Every provider and wrapper is derived from this list:
:class:`dashboard.queries.ClickHouseQueries` answers it from ClickHouse,
:class:`dashboard.metrics.InstrumentedQueries` times any provider by iterating
:data:`QUERY_NAMES`, and the tests' fake (``tests/dashboard_fake.py``) answers it from
canned data; a unit test checks they all carry the same signatures.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Protocol

from dashboard.model import (
    ACTIVE_STATUSES,
    AlertEventRow,
    AlertRow,
    AreaTree,
    CaseList,
    CaseRow,
    CaseStepRow,
    CityShapes,
    DeadLetterCounts,
    DistrictRollup,
    DrillRow,
    QualityRow,
    RatePoint,
    Scorecard,
    SensorCell,
    SensorInfo,
    SeriesPoint,
    SilenceRow,
    StageChange,
)
from dashboard.scope import Scope
from detectors.contract.audit import AccessEvent
from detectors.contract.catalog import CatalogEntry, Department
from detectors.contract.city import Area


class Queries(Protocol):
    """The read side of the command center. Implementations raise QueryError when the
    data source fails, ScopeError for an area outside the scope, NotFound for an unknown
    area."""

    def district_shapes(self, scope: Scope) -> CityShapes: ...

    def latest_district_rollups(self, scope: Scope, minutes: int = 10) -> list[DistrictRollup]: ...

    def event_rate(self, scope: Scope, minutes: int = 30) -> list[RatePoint]: ...

    def dead_letter_counts(self, scope: Scope) -> DeadLetterCounts: ...

    def area_tree(self, scope: Scope) -> AreaTree: ...

    def area(self, scope: Scope, level: str, code: str) -> Area: ...

    def area_alerts(
        self,
        scope: Scope,
        level: str,
        code: str,
        statuses: Sequence[str] = ACTIVE_STATUSES,
        limit: int = 5000,
    ) -> list[AlertRow]: ...

    def sensor_cells(self, scope: Scope, level: str, code: str) -> list[SensorCell]: ...

    def cell_sensors(self, scope: Scope, grid: str) -> list[SensorInfo]: ...

    def stage_history(
        self, scope: Scope, level: str, code: str, limit: int = 20
    ) -> list[StageChange]: ...

    def latest_stages(
        self, scope: Scope, level: str, codes: Sequence[str]
    ) -> dict[str, StageChange]: ...

    def area_rate(
        self, scope: Scope, level: str, code: str, minutes: int = 30
    ) -> list[RatePoint]: ...

    def area_cases(
        self, scope: Scope, level: str, code: str, open_only: bool = True, limit: int = 2000
    ) -> CaseList: ...

    def case(self, scope: Scope, case_id: str) -> CaseRow | None: ...

    def case_trail(self, scope: Scope, case_id: str) -> list[CaseStepRow]:
        """The actions applied to a case, oldest first (the audit trail)."""
        ...

    def case_clock(self, scope: Scope) -> int:
        """Epoch ms of the newest case event in scope: the clock case limits run on (event
        time, so a replay shows its cases as they were); 0 without cases."""
        ...

    def console_alerts(
        self, scope: Scope, statuses: Sequence[str], limit: int = 200
    ) -> list[AlertRow]: ...

    def alarms(self, scope: Scope) -> list[AlertRow]: ...

    def alert(self, scope: Scope, alert_id: str) -> AlertRow | None: ...

    def alert_trail(self, scope: Scope, alert_id: str) -> list[AlertEventRow]: ...

    def sensor(self, scope: Scope, source_id: str) -> SensorInfo | None: ...

    def sensor_series(
        self, scope: Scope, source_id: str, hours: float = 3.0
    ) -> list[SeriesPoint]: ...

    def sensor_alerts(self, scope: Scope, source_id: str, since_ms: int) -> list[AlertRow]: ...

    def data_quality(self, scope: Scope, minutes: int = 10) -> list[QualityRow]: ...

    def source_quality(
        self, scope: Scope, families: Sequence[str], source_ids: Sequence[str], minutes: int = 10
    ) -> list[QualityRow]:
        """The data-quality figures of single sources (``district`` holds the source id);
        the sources outside the scope are left out."""
        ...

    def catalog(self, scope: Scope) -> list[CatalogEntry]:
        """Every version of every catalog entry, oldest first per entry (city-wide
        reference data: the same for every viewer)."""
        ...

    def departments(self, scope: Scope) -> list[Department]:
        """Every version of every department, oldest first (the last of a code is in force)."""
        ...

    def access_events(self, scope: Scope, limit: int = 200) -> list[AccessEvent]:
        """The newest entries of the access audit (logins, refusals, user changes)."""
        ...

    def silences(self, scope: Scope, limit: int = 200) -> list[SilenceRow]:
        """Silences and maintenance windows (their latest state), newest first: those of
        the viewer's district and the city-wide ones."""
        ...

    def area_marks(
        self, scope: Scope, level: str, code: str, since_ms: int, limit: int = 500
    ) -> list[AlertRow]:
        """The alerts and incidents located in an area opened at or after ``since_ms``,
        whatever their status now: what the area's time charts mark."""
        ...

    def active_drills(self, scope: Scope, now_ms: int, grace_ms: int = 0) -> list[DrillRow]:
        """The demo drills in scope running at ``now_ms`` (wall clock: drills are played
        live), or ended less than ``grace_ms`` before it, oldest first."""
        ...

    def scorecard(self, scope: Scope, level: str, code: str, worst: int = 5) -> Scorecard:
        """An area's five indicators now, its children's, its ``worst`` lowest grid cells
        per indicator and its 24-hour and 30-day trends (Scorecard(0): none written yet)."""
        ...


QUERY_NAMES: tuple[str, ...] = tuple(
    name
    for name, member in vars(Queries).items()
    if inspect.isfunction(member) and not name.startswith("_")
)
"""Every query's name, in declaration order: what a wrapper wraps and a metric labels."""


def signature_of(name: str) -> inspect.Signature:
    """The declared signature of one query (``self`` included)."""
    return inspect.signature(getattr(Queries, name))
