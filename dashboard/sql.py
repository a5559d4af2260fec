"""The SQL of the command center's views. Every value is a parameter (``%(name)s``, filled
by clickhouse-driver); every statement that reads operational data carries the scope
filter, so a viewer limited to one district gets only that district's rows.

Tables written as one row per change are read with FINAL: conditions on columns that do
not change between versions of a row (ids, location codes) are safe in WHERE; the
integration tests check the ones on status and level against several versions too.
"""

from __future__ import annotations

from collections.abc import Iterable

from dashboard.scope import SCOPE_FILTER
from detectors.contract.alerts import ACTIVE_STATUSES, AlertStatus, Subject
from detectors.contract.levels import ALARMING
from detectors.contract.places import AREA_LEVELS, AreaLevel
from detectors.contract.tables import ALERTS_CURRENT, AUTH_EVENTS, SILENCES, SOURCES


def _listed(values: Iterable[str]) -> str:
    """A SQL list of vocabulary values from the contract's enums (never user input)."""
    return "(" + ", ".join(f"'{value}'" for value in values) + ")"


CITY, DISTRICT = AreaLevel.CITY, AreaLevel.DISTRICT

DISTRICT_IN_RAW = r'"district"\s*:\s*"([^"]*)"'
"""Where a dead letter's original bytes name its district (a parameter, so the server gets
the pattern unescaped); '' when they are not JSON enough to tell."""

AREA_FILTER = (
    "(\n    "
    + "\n    OR ".join(f"(%(level)s = '{level}' AND {level} = %(code)s)" for level in AREA_LEVELS)
    + ")"
)
"""Rows located in the area (level, code): every table carries all four codes."""

AREA_TREE = f"""
SELECT level, code, parent, name, name_zh, ring
FROM areas FINAL
WHERE level IN {_listed(AREA_LEVELS)}
  AND (level = '{CITY}' OR {SCOPE_FILTER})
ORDER BY level, code
"""

AREA_DISTRICT = """
SELECT district FROM areas FINAL WHERE level = %(level)s AND code = %(code)s LIMIT 1
"""

ALERT_COLUMNS = ALERTS_CURRENT.select_without("level_rank", "notify", "created_ms")
"""What the views show of an alert (dashboard.rows.alert reads it in this order)."""

AREA_ALERTS = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND {AREA_FILTER}
  AND subject IN %(subjects)s AND status IN %(statuses)s
ORDER BY level_rank DESC, opened_ms DESC, alert_id
LIMIT %(limit)s
"""

AREA_MARKS = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND {AREA_FILTER} AND opened_ms >= %(since_ms)s
ORDER BY opened_ms DESC, alert_id
LIMIT %(limit)s
"""
"""An area's alerts and incidents raised since a time: opened_ms never changes between
versions of a row, so the condition is safe before FINAL picks the newest."""

CONSOLE_ALERTS = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND status IN %(statuses)s
ORDER BY level_rank DESC, opened_ms DESC, alert_id
LIMIT %(limit)s
"""

ALARMS = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND status = '{AlertStatus.ACTIVE}' AND level_rank >= {int(ALARMING)}
ORDER BY level_rank DESC, opened_ms DESC, alert_id
LIMIT 200
"""

ONE_ALERT = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND alert_id = %(alert_id)s
"""

ALERT_TRAIL = f"""
SELECT event_id, ts_ms, kind, alert_id, incident_id, level, tier, reason, actor, comment
FROM alert_events FINAL
WHERE ts >= toDateTime(%(since)s) AND {SCOPE_FILTER}
  AND (alert_id = %(alert_id)s OR (alert_id = '' AND incident_id = %(alert_id)s))
ORDER BY ts_ms, event_id
LIMIT 1000
"""

SENSOR_ALERTS = f"""
SELECT {ALERT_COLUMNS}
FROM alerts_current FINAL
WHERE {SCOPE_FILTER} AND source_id = %(source_id)s AND subject = '{Subject.ALERT}'
  AND (status IN {_listed(ACTIVE_STATUSES)} OR updated_ms >= %(since_ms)s)
ORDER BY opened_ms
LIMIT 500
"""

STAGE_HISTORY = """
SELECT level, code, ts_ms, stage, previous, reason
FROM stage_changes FINAL
WHERE level = %(level)s AND code = %(code)s
ORDER BY ts_ms DESC
LIMIT %(limit)s
"""

LATEST_STAGES = """
SELECT level, code, max(ts_ms), argMax(stage, ts_ms), argMax(previous, ts_ms),
       argMax(reason, ts_ms)
FROM stage_changes FINAL
WHERE level = %(level)s AND code IN %(codes)s
GROUP BY level, code
"""

SENSOR_CELLS = f"""
SELECT grid, family, count()
FROM sources FINAL
WHERE family != 'case' AND {SCOPE_FILTER} AND {AREA_FILTER}
GROUP BY grid, family
ORDER BY grid, family
"""

SOURCE_COLUMNS = SOURCES.select_without("updated_at")

CELL_SENSORS = f"""
SELECT {SOURCE_COLUMNS}
FROM sources FINAL
WHERE family != 'case' AND {SCOPE_FILTER} AND grid = %(grid)s
ORDER BY source_id
LIMIT 2000
"""

ONE_SENSOR = f"""
SELECT {SOURCE_COLUMNS}
FROM sources FINAL
WHERE {SCOPE_FILTER} AND source_id = %(source_id)s
"""

# The access audit: the city commander's page (the scope filter keeps a district's own).
ACCESS_EVENTS = f"""
SELECT {AUTH_EVENTS.select_without("ts")}
FROM auth_events FINAL
WHERE {SCOPE_FILTER}
ORDER BY ts_ms DESC, event_id
LIMIT %(limit)s
"""

SENSOR_NEWEST = f"""
SELECT toUInt64(max(ts_ms)), count()
FROM events_raw
WHERE family = %(family)s AND source_id = %(source_id)s AND {SCOPE_FILTER}
"""

SENSOR_SERIES = f"""
SELECT metric, ts_ms, value
FROM events_raw FINAL
WHERE family = %(family)s AND source_id = %(source_id)s AND {SCOPE_FILTER}
  AND ts >= toDateTime(%(since)s)
ORDER BY metric, ts_ms
LIMIT 20000
"""

AREA_NEWEST_WINDOW = """
SELECT toUInt32(max(window_start)), count()
FROM rollups_1m
WHERE level = %(level)s AND key = %(code)s AND window_start >= toDateTime(%(since)s)
"""

AREA_RATE = """
SELECT toUInt32(window_start), sum(cnt)
FROM rollups_1m FINAL
WHERE level = %(level)s AND key = %(code)s
  AND window_start >= toDateTime(%(since)s) AND window_start <= toDateTime(%(until)s)
GROUP BY window_start
ORDER BY window_start
"""

CASES_NEWEST = f"""
SELECT toUInt64(max(ts_ms)) FROM cases_raw WHERE {SCOPE_FILTER}
"""

# No FINAL: a re-delivered lifecycle event repeats a (status, time) pair, which the steps
# (the earliest time of each status) and the newest status absorb.
AREA_CASES = f"""
SELECT case_id, any(category), any(city), any(district), any(street), any(grid),
       groupArray(status), groupArray(ts_ms), argMax(status, ts_ms) AS last_status,
       max(ts_ms) AS last_ms, argMin(text, ts_ms)
FROM cases_raw
WHERE ts >= toDateTime(%(since)s) AND {SCOPE_FILTER} AND {AREA_FILTER}
GROUP BY case_id
HAVING last_status IN %(statuses)s
ORDER BY last_ms DESC, case_id
LIMIT %(limit)s
"""

# The department each listed case was last dispatched to (the case ids come from a scoped
# query: no scope filter of its own). No FINAL: a re-delivered step repeats its row, and
# argMax picks the same department from either copy.
CASE_DISPATCHED = """
SELECT case_id, argMax(department, ts_ms)
FROM case_steps
WHERE action = 'dispatch' AND case_id IN %(case_ids)s
GROUP BY case_id
"""

CASE_EVENTS = f"""
SELECT case_id, category, city, district, street, grid, status, ts_ms, text
FROM cases_raw FINAL
WHERE case_id = %(case_id)s AND {SCOPE_FILTER}
ORDER BY ts_ms
"""

CASE_TRAIL = f"""
SELECT ts_ms, action, status, department, score, actor, role, comment
FROM case_steps FINAL
WHERE case_id = %(case_id)s AND {SCOPE_FILTER}
ORDER BY ts_ms
"""

QUALITY_SOURCES = f"""
SELECT family, district, count(), sum(length(metrics) * 60.0 / greatest(cadence_s, 1))
FROM sources FINAL
WHERE family != 'case' AND {SCOPE_FILTER}
GROUP BY family, district
"""

QUALITY_RECEIVED = f"""
SELECT key, family,
       sumIf(cnt, window_start >= toDateTime(%(recent)s)), sum(cnt),
       toUInt32(max(window_start))
FROM rollups_1m FINAL
WHERE level = '{DISTRICT}' AND window_start >= toDateTime(%(hour)s)
  AND window_start < toDateTime(%(until)s)
  AND (%(scope_all)s = 1 OR key = %(scope_district)s)
GROUP BY key, family
"""

QUALITY_LAST_SEEN = f"""
SELECT key, family, toUInt32(max(window_start))
FROM rollups_1m
WHERE level = '{DISTRICT}' AND window_start >= toDateTime(%(since)s)
  AND (%(scope_all)s = 1 OR key = %(scope_district)s)
GROUP BY key, family
"""

# The catalog's per-source promise check: the same figures as the quality rows above, for
# the sources that have their own catalog entry, keyed by source id instead of district.

SOURCE_QUALITY_REGISTRY = f"""
SELECT family, source_id, count(), sum(length(metrics) * 60.0 / greatest(cadence_s, 1))
FROM sources FINAL
WHERE source_id IN %(source_ids)s AND {SCOPE_FILTER}
GROUP BY family, source_id
"""

SOURCE_QUALITY_RECEIVED = f"""
SELECT source_id, family, countIf(ts >= toDateTime(%(recent)s)), count(), toUInt32(max(ts))
FROM events_raw FINAL
WHERE family IN %(families)s AND source_id IN %(source_ids)s
  AND ts >= toDateTime(%(hour)s) AND ts < toDateTime(%(until)s) AND {SCOPE_FILTER}
GROUP BY source_id, family
"""

SOURCE_LAST_SEEN = f"""
SELECT source_id, family, toUInt32(max(ts))
FROM events_raw
WHERE family IN %(families)s AND source_id IN %(source_ids)s
  AND ts >= toDateTime(%(since)s) AND {SCOPE_FILTER}
GROUP BY source_id, family
"""

DEAD_NEWEST = "SELECT toUInt32(max(kafka_ts)), count() FROM dead_letters"

QUALITY_DEAD = """
SELECT family, extract(raw, %(district_re)s) AS raw_district, count()
FROM dead_letters FINAL
WHERE kafka_ts >= toDateTime(%(since)s)
  AND (%(scope_all)s = 1 OR extract(raw, %(district_re)s) = %(scope_district)s)
GROUP BY family, raw_district
"""

# The city overview.

SHAPES = f"""
SELECT level, code, parent, name, name_zh, ring
FROM areas FINAL
WHERE level IN %(levels)s AND (level = '{CITY}' OR {SCOPE_FILTER})
ORDER BY level, code
"""

NEWEST_DAY = """
SELECT max(toUInt32OrZero(partition))
FROM system.parts
WHERE database = currentDatabase() AND table = 'rollups_1m' AND active
"""

NEWEST_WINDOW = """
SELECT toUInt32(max(window_start)), count()
FROM rollups_1m
WHERE level = %(level)s AND window_start >= toDateTime(%(since)s)
"""

# FINAL keeps the newest version of each partition's row; the roll-up of a minute is then
# the sum over source partitions. The outer query keeps each key's newest minute.
LATEST_ROLLUPS = """
SELECT key, metric, toUInt32(max(window_start)),
       argMax(total_cnt, window_start), argMax(total_sum, window_start),
       argMax(lowest, window_start), argMax(highest, window_start)
FROM (
    SELECT key, metric, window_start,
           sum(cnt) AS total_cnt, sum(sum) AS total_sum,
           min(min) AS lowest, max(max) AS highest
    FROM rollups_1m FINAL
    WHERE level = %(level)s
      AND window_start >= toDateTime(%(since)s) AND window_start <= toDateTime(%(until)s)
      AND (%(scope_all)s = 1 OR key = %(scope_district)s)
    GROUP BY key, metric, window_start
)
GROUP BY key, metric
ORDER BY key, metric
"""

EVENT_RATE = """
SELECT toUInt32(window_start), sum(cnt)
FROM rollups_1m FINAL
WHERE level = %(level)s AND (%(key)s = '' OR key = %(key)s)
  AND window_start >= toDateTime(%(since)s) AND window_start <= toDateTime(%(until)s)
GROUP BY window_start
ORDER BY window_start
"""

DEAD_LETTERS = """
SELECT reason, count() AS n
FROM dead_letters FINAL
WHERE %(scope_all)s = 1 OR extract(raw, %(district_re)s) = %(scope_district)s
GROUP BY reason
ORDER BY n DESC, reason
"""


SILENCE_COLUMNS = SILENCES.select_list(
    "silence_id", "status", "ts_ms", "scope", "value", "family", "metric", "district",
    "start_ms", "end_ms", "reason", "author", "created_ms", "actor",
)  # fmt: skip
"""What the silences page shows of a silence (dashboard.rows.silence reads this order)."""

# Silences: the latest version of each, newest first. A city-wide silence (district '')
# mutes alerts in every district, so every district sees it.
SILENCE_LIST = f"""
SELECT {SILENCE_COLUMNS}
FROM (
    SELECT {SILENCE_COLUMNS}
    FROM silences FINAL
    WHERE (%(scope_all)s = 1 OR district IN ('', %(scope_district)s))
    ORDER BY silence_id, version DESC
    LIMIT 1 BY silence_id
)
ORDER BY created_ms DESC, silence_id
LIMIT %(limit)s
"""

ACTIVE_DRILLS = f"""
SELECT drill_id, kind, title, title_zh, area_name, area_name_zh,
       city, district, street, grid, start_ms, end_ms, metrics
FROM drills FINAL
WHERE {SCOPE_FILTER} AND start_ms <= %(now_ms)s AND end_ms + %(grace_ms)s > %(now_ms)s
ORDER BY start_ms, drill_id
LIMIT 20
"""


# The scorecard (indicators_1m / indicators_1h, ReplacingMergeTree(version)): each row's
# newest version by argMax; a NULL score (nothing to judge) travels as -1, as argMax skips
# NULLs. The tables carry no district: the scope is the list of area codes, taken from
# the viewer's area tree.

_NEWEST_SCORE = "argMax(ifNull(score, -1), version), argMax(components, version)"

SCORE_MINUTE = """
SELECT toUInt32(window_start) AS minute, uniqExact(indicator) AS found
FROM indicators_1m
WHERE level = %(level)s AND code = %(code)s
  AND window_start >= (
      SELECT max(window_start) FROM indicators_1m WHERE level = %(level)s AND code = %(code)s
  ) - 600
GROUP BY minute
ORDER BY found DESC, minute DESC
LIMIT 1
"""
"""The area's latest complete minute: the newest of its last ten with the most indicators."""

SCORES_AT = f"""
SELECT level, code, indicator, {_NEWEST_SCORE}
FROM indicators_1m
WHERE window_start = toDateTime(%(minute)s)
  AND ((level = %(level)s AND code = %(code)s) OR (level = %(below)s AND code IN %(children)s))
GROUP BY level, code, indicator
"""
"""An area's scores and its children's in one minute."""

WORST_CELLS = """
SELECT level, code, indicator, scored, shown
FROM (
    SELECT level, code, indicator, argMax(ifNull(score, -1), version) AS scored,
           argMax(components, version) AS shown
    FROM indicators_1m
    WHERE level = 'grid' AND code IN %(cells)s AND window_start = toDateTime(%(minute)s)
    GROUP BY level, code, indicator
)
WHERE scored >= 0
ORDER BY indicator, scored, code
LIMIT %(worst)s BY indicator
"""
"""The lowest-scored judged grid cells of a list, per indicator, in one minute."""

_SCORE_TREND = """
SELECT indicator, toUInt32(window_start) AS at, argMax(ifNull(score, -1), version)
FROM {table}
WHERE level = %(level)s AND code = %(code)s
  AND window_start > (
      SELECT max(window_start) FROM {table}
      WHERE level = %(level)s AND code = %(code)s AND window_start <= toDateTime(%(until)s)
  ) - %(span)s
  AND window_start <= toDateTime(%(until)s)
GROUP BY indicator, at
ORDER BY indicator, at
"""
SCORE_TREND_1M = _SCORE_TREND.format(table="indicators_1m")
SCORE_TREND_1H = _SCORE_TREND.format(table="indicators_1h")
"""An area's scores over ``span`` seconds to its newest window at or before ``until``."""
