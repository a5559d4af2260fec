"""Data quality per source family and district: freshness, completeness and the
dead-letter rate, so an operator can tell a quiet city from a broken feed."""

from __future__ import annotations

from collections.abc import Sequence

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, ago, panel, table, when
from dashboard.i18n import t
from dashboard.model import QualityRow
from detectors.contract.catalog import DEFAULT_PROMISE, breaches

HIGH_DEAD_RATE = 0.02


def layout(lang: str, refresh_ms: int, minutes: int) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id=ids.QUALITY_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2(t("quality", lang)),
            html.Div(id=ids.QUALITY_STATUS),
            html.P(t("quality_note", lang, m=minutes), className="muted"),
            panel(html.Div(id=ids.QUALITY_TABLE), class_name="scroll-panel tall"),
        ],
        className="quality-page",
    )


def quality_table(found: Sequence[QualityRow], now_ms: int, lang: str) -> html.Table | html.P:
    """One row per (family, district); stale, incomplete (against the default promise of
    the data catalog) or noisy ones are flagged."""
    rows, classes = [], []
    for q in found:
        completeness, dead = q.completeness, q.dead_letter_rate
        flags = [
            *breaches(DEFAULT_PROMISE, q.last_ms, now_ms, completeness),
            "noisy" if dead is not None and dead > HIGH_DEAD_RATE else "",
        ]
        rows.append(
            [
                q.family,
                q.district or t("unattributed", lang),
                str(q.sources),
                ago(q.last_ms, now_ms, lang) if q.last_ms else NO_VALUE,
                when(q.last_ms),
                f"{q.expected_per_min:,.1f}",
                f"{q.received_per_min:,.1f}",
                NO_VALUE if completeness is None else f"{completeness:.0%}",
                NO_VALUE if dead is None else f"{dead:.2%} ({q.dead_1h}/{q.valid_1h + q.dead_1h})",
            ]
        )
        classes.append(" ".join(f for f in flags if f))
    headers = [
        t("family", lang),
        t("district", lang),
        t("sensors", lang),
        t("freshness", lang),
        t("last_data", lang),
        t("expected_per_min", lang),
        t("received_per_min", lang),
        t("completeness", lang),
        t("dead_letter_rate", lang),
    ]
    return table(headers, rows, classes, t("no_data", lang), "quality-table")
