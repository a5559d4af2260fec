"""The access audit, for the city commander: who logged in, who was refused (a wrong
password, too many of them, a forged request) and who changed which user, newest first."""

from __future__ import annotations

from collections.abc import Sequence

from dash import html

from dashboard.components import panel, table, when
from dashboard.i18n import t
from detectors.contract.audit import REFUSALS, AccessEvent


def layout(events: Sequence[AccessEvent], lang: str) -> html.Div:
    return html.Div(
        [
            html.H2(t("access_audit", lang)),
            html.P(t("access_note", lang), className="muted"),
            panel(access_table(events, lang), class_name="scroll-panel tall"),
        ],
        className="access-page",
    )


def access_table(events: Sequence[AccessEvent], lang: str) -> html.Table | html.P:
    """One row per entry; refusals are marked so a run of them stands out."""
    rows = [
        [
            when(e.ts_ms),
            t(f"access_{e.kind.value}", lang),
            e.username,
            e.actor,
            e.address,
            t(f"role_{e.role}", lang) if e.role else "",
            e.district,
            e.detail,
        ]
        for e in events
    ]
    classes = ["refused" if e.kind in REFUSALS else "" for e in events]
    headers = [
        t("time", lang),
        t("kind", lang),
        t("user", lang),
        t("actor", lang),
        t("address", lang),
        t("role", lang),
        t("district", lang),
        t("detail", lang),
    ]
    return table(headers, rows, classes, t("no_access_events", lang), "access-table")
