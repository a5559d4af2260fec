"""Component ids of the command center: the one place layout and callbacks agree on."""

from __future__ import annotations

REFRESH = "refresh-interval"
STATUS = "data-status"
CITY_NAME = "city-name"
METRIC = "metric-selector"
CITY_MAP = "city-map"
DISTRICT_TABLE = "district-table"
EVENT_RATE = "event-rate-chart"
DEAD_LETTERS = "dead-letter-chart"
KPI_EVENTS_PER_S = "kpi-events-per-second"
KPI_DEAD_LETTERS = "kpi-dead-letters"
KPI_LAST_DATA = "kpi-last-data"
COMPLETE_MINUTE = "complete-minute"

OVERVIEW: tuple[str, ...] = (
    REFRESH, STATUS, CITY_NAME, METRIC, CITY_MAP, DISTRICT_TABLE, EVENT_RATE, DEAD_LETTERS,
    KPI_EVENTS_PER_S, KPI_DEAD_LETTERS, KPI_LAST_DATA, COMPLETE_MINUTE,
)  # fmt: skip
"""The ids of the city overview page (``/overview``)."""

# The shell around every page.
URL = "url"
LANG = "language"
LANG_EN = "language-en"
LANG_ZH = "language-zh"
ROOT = "root"
HEADER = "header"
PAGE = "page"
SHELL_REFRESH = "shell-refresh"
ALARM_IDS = "alarm-ids"
ALARM_BANNER = "alarm-banner"
ALARM_SOUND = "alarm-sound"
SOUND_TOGGLE = "sound-toggle"
FULL_SCREEN = "full-screen"

# A tier page: city, district, street, grid cell.
TIER_REFRESH = "tier-refresh"
TIER_STATUS = "tier-status"
TIER_STAGE = "tier-stage"
TIER_KPIS = "tier-kpis"
TIER_MAP = "tier-map"
TIER_CHILDREN = "tier-children"
TIER_ALERTS = "tier-alerts"
TIER_STAGE_HISTORY = "tier-stage-history"
TIER_ACTIVITY = "tier-activity"

# The alert console.
CONSOLE_URL = "console-url"
"""A Location of the console's own: choosing an alert changes only ``?alert=``, which the
console follows without the router redrawing the page."""
CONSOLE_REFRESH = "console-refresh"
CONSOLE_STATUS = "console-status"
CONSOLE_FILTER = "console-filter"
CONSOLE_LIST = "console-list"
CONSOLE_DETAIL = "console-detail"
CONSOLE_TRAIL = "console-trail"
ACTION_KIND = "action-kind"
ACTION_ASSIGNEE = "action-assignee"
ACTION_COMMENT = "action-comment"
ACTION_SUBMIT = "action-submit"
ACTION_RESULT = "action-result"

# Cases.
CASES_REFRESH = "cases-refresh"
CASES_STATUS = "cases-status"
CASES_FILTER = "cases-filter"
CASES_LIST = "cases-list"
CASE_REFRESH = "case-refresh"
CASE_TIMELINE = "case-timeline"
CASE_ACTION = "case-action"
CASE_DEPARTMENT = "case-department"
CASE_OWNER = "case-owner"  # the department a case belongs to, on its page
CASE_SCORE = "case-score"
CASE_COMMENT = "case-comment"
CASE_SUBMIT = "case-submit"
CASE_RESULT = "case-result"

# A sensor.
SENSOR_REFRESH = "sensor-refresh"
SENSOR_STATUS = "sensor-status"
SENSOR_METRIC = "sensor-metric"
SENSOR_CHART = "sensor-chart"
SENSOR_ALERTS = "sensor-alerts"
SENSOR_ALERTING = "sensor-alerting"

# Data quality.
QUALITY_REFRESH = "quality-refresh"
QUALITY_STATUS = "quality-status"
QUALITY_TABLE = "quality-table"

# The data catalog.
CATALOG_REFRESH = "catalog-refresh"
CATALOG_STATUS = "catalog-status"
CATALOG_TABLE = "catalog-table"

# Replays.
REPLAY_LIST_LOAD = "replay-list-load"
REPLAY_LIST = "replay-list"
REPLAY_NAME = "replay-name"
REPLAY_STATUS = "replay-status"
REPLAY_SLIDER = "replay-slider"
REPLAY_TICK = "replay-tick"
REPLAY_PLAY = "replay-play"
REPLAY_PAUSE = "replay-pause"
REPLAY_MOMENT = "replay-moment"
REPLAY_MAP = "replay-map"
REPLAY_ALERTS = "replay-alerts"
REPLAY_STAGES = "replay-stages"
REPLAY_ACTIVITY = "replay-activity"
REPLAY_ROLLUP = "replay-rollup"
REPLAY_METRIC = "replay-metric"

# Silences and maintenance windows.
SILENCE_REFRESH = "silence-refresh"
SILENCE_STATUS = "silence-status"
SILENCE_LIST = "silence-list"
SILENCE_SCOPE = "silence-scope"
SILENCE_VALUE = "silence-value"
SILENCE_FAMILY = "silence-family"
SILENCE_METRIC = "silence-metric"
SILENCE_START = "silence-start"
SILENCE_HOURS = "silence-hours"
SILENCE_REASON = "silence-reason"
SILENCE_CREATE = "silence-create"
SILENCE_PICK = "silence-pick"
SILENCE_EXPIRE = "silence-expire"
SILENCE_DELETE = "silence-delete"
SILENCE_RESULT = "silence-result"
DRILL_BANNER = "drill-banner"

# The scorecard.
SCORE_REFRESH = "score-refresh"
SCORE_STATUS = "score-status"
SCORE_MINUTE = "score-minute"
SCORE_CARDS = "score-cards"
SCORE_DAY = "score-day"
SCORE_MONTH = "score-month"
SCORE_CHILDREN = "score-children"  # the areas below (a grid cell: its sensors)
SCORE_WORST = "score-worst"  # the lowest grid cells (a grid cell: its cases)
