"""The data catalog: who owns each source family and source, its schema, cadence and
quality promise, what it feeds and which views use it, and whether it keeps its promise
now (judged on the data-quality page's figures). Read only: citybrain-catalog edits it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from dash import dcc, html

from dashboard import ids
from dashboard.components import NO_VALUE, ago, panel, table, when
from dashboard.i18n import t
from dashboard.model import QualityRow
from detectors.contract.catalog import CatalogEntry, Department, Subject, breaches


def layout(lang: str, refresh_ms: int, minutes: int) -> html.Div:
    return html.Div(
        [
            dcc.Interval(id=ids.CATALOG_REFRESH, interval=refresh_ms, n_intervals=0),
            html.H2([t("catalog", lang), html.Span(t("catalog_read_only", lang), className="tag")]),
            html.Div(id=ids.CATALOG_STATUS),
            html.P(t("catalog_note", lang), className="muted"),
            html.P(t("quality_note", lang, m=minutes), className="muted"),
            panel(html.Div(id=ids.CATALOG_TABLE), class_name="scroll-panel tall"),
        ],
        className="catalog-page",
    )


def family_quality(found: Sequence[QualityRow], family: str) -> QualityRow | None:
    """A family's quality over the viewer's districts: the rows of the family summed, the
    newest data of any of them; None when the family has none."""
    mine = [q for q in found if q.family == family]
    if not mine:
        return None
    return QualityRow(
        family, "", sum(q.sources for q in mine), sum(q.expected_per_min for q in mine),
        sum(q.received_per_min for q in mine), max(q.last_ms for q in mine),
        sum(q.valid_1h for q in mine), sum(q.dead_1h for q in mine),
    )  # fmt: skip


def promise_now(entry: CatalogEntry, quality: QualityRow | None, now_ms: int) -> tuple[str, ...]:
    """How the entry's data breaks its promise now ('stale', 'incomplete'); () = kept."""
    last_ms = quality.last_ms if quality else 0
    completeness = quality.completeness if quality else None
    return breaches(entry.promise, last_ms, now_ms, completeness)


def catalog_table(
    entries: Sequence[CatalogEntry],
    departments: Mapping[str, Department],
    families: Sequence[QualityRow],
    sources: Sequence[QualityRow],
    now_ms: int,
    lang: str,
) -> html.Table | html.P:
    """One row per entry in force, families first; a broken promise is flagged. A source
    without figures (outside the viewer's districts) is not judged."""
    by_source = {q.district: q for q in sources}  # source_quality keys rows by source id
    rows, classes = [], []
    for e in sorted(entries, key=lambda e: (e.subject is not Subject.FAMILY, e.family, e.key)):
        is_family = e.subject is Subject.FAMILY
        quality = family_quality(families, e.family) if is_family else by_source.get(e.key)
        judged = is_family or quality is not None
        broken = promise_now(e, quality, now_ms) if judged else ()
        rows.append(_row(e, departments, quality, broken, now_ms, lang, judged))
        classes.append(" ".join(broken))
    headers = [
        t("catalog_key", lang), t("owner", lang), t("schema_version", lang),
        t("cadence", lang), t("freshness_target", lang), t("completeness_target", lang),
        t("allowance", lang), t("promise_status", lang), t("freshness", lang),
        t("completeness", lang), t("shared_with", lang), t("feeds", lang), t("used_by", lang),
        t("changed_by", lang),
    ]  # fmt: skip
    return table(headers, rows, classes, t("no_catalog", lang), "catalog-table")


def _row(
    e: CatalogEntry,
    departments: Mapping[str, Department],
    quality: QualityRow | None,
    broken: tuple[str, ...],
    now_ms: int,
    lang: str,
    judged: bool,
) -> list[object]:
    p = e.promise
    completeness = quality.completeness if quality else None
    status = ", ".join(t(f"promise_{b}", lang) for b in broken) or t("promise_kept", lang)
    status = status if judged else NO_VALUE
    return [
        f"{t(f'subject_{e.subject.value}', lang)} · {e.key}",
        _owner(e.department, departments, lang),
        str(e.schema_version),
        f"{e.cadence_s}",
        _duration(p.freshness_s),
        f"{p.completeness_pct:g}%",
        _duration(p.allowance_s),
        status,
        ago(quality.last_ms, now_ms, lang) if quality and quality.last_ms else NO_VALUE,
        NO_VALUE if completeness is None else f"{completeness:.0%}",
        ", ".join(_owner(code, departments, lang) for code in e.shared_with) or NO_VALUE,
        ", ".join((*e.topics, *e.tables)),
        ", ".join(t(f"view_{view}", lang) for view in e.views),
        f"{e.author} · {when(e.changed_ms)}",
    ]


def _owner(code: str, departments: Mapping[str, Department], lang: str) -> str:
    found = departments.get(code)
    if found is None:
        return t("unknown_department", lang, code=code)
    return found.name_zh if lang == "zh" else found.name


def _duration(seconds: int) -> str:
    """Seconds in the largest whole unit: 900 -> '15m'."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
