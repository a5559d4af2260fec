"""Small pure building blocks of the pages: panels, tables, badges, time texts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from dash import dcc, html

from dashboard.i18n import t
from detectors.contract.levels import WarningLevel

LEVEL_COLOUR: dict[int, str] = {
    0: "#374151",
    int(WarningLevel.IV): "#2563eb",
    int(WarningLevel.III): "#eab308",
    int(WarningLevel.II): "#f97316",
    int(WarningLevel.I): "#dc2626",
}
"""Fill of an area by its highest active level (0 = none)."""

NO_VALUE = "—"


def panel(children: Any, title: str = "", class_name: str = "", **props: Any) -> html.Section:
    heading = [html.H3(title, className="panel-title")] if title else []
    return html.Section(
        heading + _as_list(children), className=f"panel {class_name}".strip(), **props
    )


def _as_list(children: Any) -> list[Any]:
    return list(children) if isinstance(children, list | tuple) else [children]


def table(
    headers: Sequence[str],
    rows: Sequence[Sequence[Any]],
    row_classes: Sequence[str] | None = None,
    empty: str = NO_VALUE,
    class_name: str = "",
) -> html.Table | html.P:
    """A plain table; an empty one is a short sentence instead."""
    if not rows:
        return html.P(empty, className="empty")
    classes = list(row_classes or [""] * len(rows))
    body = [
        html.Tr([html.Td(cell) for cell in row], className=cls or None)
        for row, cls in zip(rows, classes, strict=True)
    ]
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in headers])), html.Tbody(body)],
        className=f"data-table {class_name}".strip(),
    )


def level_badge(level: WarningLevel | None, lang: str) -> html.Span:
    """A coloured chip: 'II orange' / 'II 橙色 重大'."""
    if level is None:
        return html.Span(NO_VALUE, className="level-badge level-0")
    text = f"{level.roman} {level.zh}" if lang == "zh" else f"{level.roman} {level.colour}"
    return html.Span(text, className=f"level-badge level-{int(level)}")


def stage_badge(stage: int, lang: str) -> html.Span:
    return html.Span(t("stage_n", lang, n=stage), className=f"stage-badge stage-{stage}")


def kpi(label: str, value: Any, kpi_id: str = "", class_name: str = "") -> html.Div:
    extra: dict[str, Any] = {"id": kpi_id} if kpi_id else {}
    return html.Div(
        [html.Div(label, className="kpi-label"), html.Div(value, className="kpi-value", **extra)],
        className=f"kpi {class_name}".strip(),
    )


def status_line(message: str) -> list[html.Div]:
    """A visible warning across the page; empty when all is well."""
    return [html.Div(message, role="alert", className="status-banner")] if message else []


def link(text: str, href: str, class_name: str = "") -> dcc.Link:
    return dcc.Link(text, href=href, className=class_name or None)


def when(ms: int | None) -> str:
    """Epoch ms as 'YYYY-MM-DD HH:MM:SS' UTC; a dash for none."""
    if not ms:
        return NO_VALUE
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")


def ago(ms: int, now_ms: int, lang: str) -> str:
    """How long ago, coarsely: '45 s', '12 min', '3 h', '2 d'."""
    seconds = max(0, (now_ms - ms) // 1000)
    for size, en, zh in ((86400, "d", "天"), (3600, "h", "小时"), (60, "min", "分钟")):
        if seconds >= size:
            return f"{seconds // size} {zh if lang == 'zh' else en}"
    return f"{seconds} {'秒' if lang == 'zh' else 's'}"


def refusal(title_key: str, message: str, home: str, lang: str) -> html.Div:
    """The page shown instead of a view the viewer may not or cannot open; ``title_key``
    is 'refused', 'not_found' or 'bad_address'."""
    return html.Div(
        [
            html.H2(t(title_key, lang)),
            html.P(message, id="refusal-message", role="alert"),
            dcc.Link(t("go_home", lang), href=home),
        ],
        className="refusal panel",
    )
