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
