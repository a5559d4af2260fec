"""The alerts and incidents of an area marked in time on its charts (a tier's activity,
the overview's event rate): where on the time axis each was raised, coloured by warning
level, with what it is on hover; and on a replay's charts, the moment it shows. Pure
functions of alert rows and a figure.

>>> from detectors.contract.levels import WarningLevel
>>> from detectors.contract.places import location_of
>>> row = AlertRow("a1", "alert", "", "k", "condition", WarningLevel.II, "district",
...                "active", 1_764_144_180_000, 1_764_144_180_000, 1, "", "", "pm10 high",
...                location_of("D1-S1-G01", city="CB"), "", "ENV-0002", "pm10")
>>> [(m.rank, m.incident, m.text.split("<br>")[0]) for m in marks_of([row], None, "en")]
[(3, False, 'II orange · air quality · pm10 · ENV-0002')]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import plotly.graph_objects as go

from dashboard.components import LEVEL_COLOUR
from dashboard.i18n import LABELS, t
from dashboard.model import AlertRow, RatePoint
from dashboard.stages import hazard
from detectors.alerting.playbook import metric_name
from detectors.alerting.reasons import reason_text
from detectors.contract.alerts import Subject
from detectors.contract.levels import WarningLevel

NO_LEVEL_COLOUR = "#9ca3af"
"""A mark without a level (the page background hides LEVEL_COLOUR[0])."""

MARK_AXIS = "y2"
"""A hidden axis over the chart's own, 0 to 1: marks stand at its top whatever the
chart's values are."""


@dataclass(frozen=True, slots=True)
class Mark:
    """One alert or incident on the time axis."""

    at: datetime
    rank: int  # its warning level, 1 (IV blue) to 4 (I red); 0 without one
    incident: bool
    text: str  # the hover text


def chart_start_ms(points: Sequence[RatePoint]) -> int:
    """Epoch ms of a rate chart's first minute: its marks begin there."""
    return int(min(p.window_start for p in points).timestamp() * 1000)


def marks_of(alerts: Sequence[AlertRow], since: datetime | None, lang: str) -> list[Mark]:
    """One mark per alert or incident opened at or after ``since`` (all when None), oldest
    first."""
    since_ms = since.timestamp() * 1000 if since else float("-inf")
    shown = sorted((a for a in alerts if a.opened_ms >= since_ms), key=lambda a: a.opened_ms)
    return [
        Mark(
            datetime.fromtimestamp(a.opened_ms / 1000, UTC),
            int(a.level) if a.level else 0,
            a.subject == Subject.INCIDENT,
            _text(a, lang),
        )
        for a in shown
    ]


def _level_text(level: WarningLevel | None, lang: str) -> str:
    if level is None:
        return "—"
    return f"{level.roman} {level.zh}" if lang == "zh" else f"{level.roman} {level.colour}"


def _text(alert: AlertRow, lang: str) -> str:
    kind = t("incident_marks", lang) if alert.subject == Subject.INCIDENT else hazard(alert, lang)
    what = " · ".join(
        part
        for part in (_level_text(alert.level, lang), kind,
                     metric_name(alert.metric, lang) if alert.metric else alert.category,
                     alert.source_id or alert.place.grid or alert.place.street
                     or alert.place.district)
        if part
    )  # fmt: skip
    opened = datetime.fromtimestamp(alert.opened_ms / 1000, UTC).strftime("%H:%M:%S")
    key = f"status_{alert.status}"
    status = t(key, lang) if key in LABELS else alert.status
    reason = reason_text(alert.reason, lang)
    return f"{what}<br>{status} · {t('mark_opened', lang, time=opened)}<br>{reason}"


def add_marks(fig: go.Figure, marks: Sequence[Mark], wall: bool = False) -> None:
    """Draw ``marks`` on a time chart: per kind and level, a dotted vertical line at each
    opening and a marker at its top (a triangle for an alert, a diamond for an incident)
    that says what it is on hover."""
    if not marks:
        return
    groups = sorted({(m.incident, m.rank) for m in marks})
    for incident, rank in groups:
        members = [m for m in marks if m.incident == incident and m.rank == rank]
        colour = LEVEL_COLOUR[rank] if rank else NO_LEVEL_COLOUR
        kind = "incident" if incident else "alert"
        fig.add_trace(_lines(members, colour, f"{kind}-lines-{rank}"))
        fig.add_trace(_markers(members, colour, incident, f"{kind}-marks-{rank}", wall))
    fig.update_layout(
        yaxis2={"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        showlegend=False,
    )
    _make_headroom(fig)


def _make_headroom(fig: go.Figure) -> None:
    """The chart's own values stay below the marks (at 94 % of the height): its axis
    reaches a quarter above its highest value."""
    values = [
        v for trace in fig.data if trace.yaxis in (None, "y") for v in (trace.y or ())
        if isinstance(v, int | float)
    ]  # fmt: skip
    if values and max(values) > 0:
        fig.update_layout(yaxis_range=[0, max(values) * 1.25])


def _lines(marks: Sequence[Mark], colour: str, name: str) -> go.Scatter:
    xs: list[datetime | None] = []
    ys: list[float | None] = []
    for m in marks:
        xs += [m.at, m.at, None]
        ys += [0.0, 0.9, None]
    return go.Scatter(
        x=xs,
        y=ys,
        yaxis=MARK_AXIS,
        mode="lines",
        line={"color": colour, "width": 1.5, "dash": "dot"},
        hoverinfo="skip",
        name=name,
        showlegend=False,
    )


def _markers(
    marks: Sequence[Mark], colour: str, incident: bool, name: str, wall: bool
) -> go.Scatter:
    return go.Scatter(
        x=[m.at for m in marks],
        y=[0.94] * len(marks),
        yaxis=MARK_AXIS,
        mode="markers",
        marker={
            "symbol": "diamond" if incident else "triangle-down",
            "size": (16 if wall else 12) + (2 if incident else 0),
            "color": colour,
            "line": {"color": "#f9fafb", "width": 1},
        },
        hovertext=[m.text for m in marks],
        hoverinfo="text",
        name=name,
        showlegend=False,
    )


MOMENT_COLOUR = "#f9fafb"
MOMENT_NAME = "replay-moment"


def moment_shape(at_ms: int, label: str, wall: bool = False) -> dict[str, object]:
    """A solid vertical line across a time chart at ``at_ms`` (the moment a replay shows),
    named so a page can find it, with ``label`` at its top.

    >>> shape = moment_shape(1_764_144_180_000, "12:03")
    >>> shape["x0"] == shape["x1"], shape["x0"].isoformat(), shape["label"]["text"]
    (True, '2025-11-26T08:03:00+00:00', '12:03')
    """
    at = datetime.fromtimestamp(at_ms / 1000, UTC)
    return {
        "type": "line",
        "name": MOMENT_NAME,
        "xref": "x",
        "yref": "paper",
        "x0": at,
        "x1": at,
        "y0": 0,
        "y1": 1,
        "line": {"color": MOMENT_COLOUR, "width": 3 if wall else 2},
        "label": {
            "text": label,
            "textangle": 0,
            "textposition": "end",
            "xanchor": "left",
            "font": {"color": MOMENT_COLOUR, "size": 16 if wall else 12},
        },
    }
