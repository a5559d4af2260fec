"""Which command tier (grid -> street -> district -> city, 分级联动) must act on an alert
or incident: by its level, by how far it has spread, and by how long it has waited for an
acknowledgement.

>>> str(tier_for(WarningLevel.III, spread="grid"))
'street'
>>> str(tier_for(WarningLevel.IV, spread="district"))
'district'
>>> str(raise_tier("district")), str(raise_tier("city"))
('city', 'city')
"""

from __future__ import annotations

from detectors.contract.levels import WarningLevel
from detectors.contract.places import LEVELS, AreaLevel, Location

TIERS = LEVELS  # grid, street, district, city
LEVEL_TIER: dict[WarningLevel, str] = {
    WarningLevel.IV: AreaLevel.GRID,
    WarningLevel.III: AreaLevel.STREET,
    WarningLevel.II: AreaLevel.DISTRICT,
    WarningLevel.I: AreaLevel.CITY,
}
ACK_TIMEOUT_MS: dict[str, int] = {
    AreaLevel.GRID: 30 * 60_000,
    AreaLevel.STREET: 20 * 60_000,
    AreaLevel.DISTRICT: 15 * 60_000,
    AreaLevel.CITY: 0,  # nowhere higher to go
}


def rank(tier: str) -> int:
    """0 for grid .. 3 for city."""
    return TIERS.index(tier)


def higher(a: str, b: str) -> str:
    """The higher of two tiers."""
    return a if rank(a) >= rank(b) else b


def raise_tier(tier: str) -> str:
    """The next tier up (city stays city)."""
    return TIERS[min(rank(tier) + 1, len(TIERS) - 1)]


def tier_for(level: WarningLevel, spread: str) -> str:
    """The tier a level and a spread (the smallest area holding every alert) call for."""
    return higher(LEVEL_TIER[level], spread)


def common_level(a: Location, b: Location) -> str:
    """The finest level at which two locations share an area."""
    for level in TIERS:
        if a.code(level) == b.code(level):
            return level
    return AreaLevel.CITY


def overdue(tier: str, acknowledged: bool, waiting_ms: int) -> bool:
    """Whether an unacknowledged alert has waited too long at ``tier``."""
    timeout = ACK_TIMEOUT_MS[tier]
    return not acknowledged and timeout > 0 and waiting_ms >= timeout
