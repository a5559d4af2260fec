"""What the simulator reports: a city at a glance, and a run's outcome."""

from __future__ import annotations

from collections import Counter

from detectors.contract.events import LEVELS, Family
from sensors_sim.city import CityModel
from sensors_sim.generator import sensor_streams
from sensors_sim.producer import Tally


def city_summary(city: CityModel, seed: int) -> dict[str, object]:
    """Counts of areas per level, sources per family and kind, sensor streams."""
    levels = Counter(area.level for area in city.areas)
    families = Counter(source.family.value for source in city.sources)
    kinds = Counter(source.kind for source in city.sources)
    return {
        "seed": seed,
        "areas": {str(level): levels[level] for level in reversed(LEVELS)},
        "sources": len(city.sources),
        "sources_by_family": {family.value: families[family.value] for family in Family},
        "sources_by_kind": dict(sorted(kinds.items())),
        "streams": len(sensor_streams(city, seed)),
        "river_grids": len(city.river_grids),
    }


def city_text(city: CityModel, seed: int) -> str:
    """The city summary as a few lines for a terminal."""
    summary = city_summary(city, seed)
    top = city.level("city")[0]

    def listing(counts: object) -> str:
        assert isinstance(counts, dict)
        return ", ".join(f"{name} {count}" for name, count in counts.items())

    return (
        f"city {top.code} {top.name} / {top.name_zh} (seed {seed})\n"
        f"areas: {listing(summary['areas'])}\n"
        f"sources: {summary['sources']} ({listing(summary['sources_by_family'])})\n"
        f"kinds: {listing(summary['sources_by_kind'])}\n"
        f"sensor streams: {summary['streams']}; grid cells on the river: "
        f"{summary['river_grids']}\n"
    )


def run_summary(tally: Tally, seconds: float, target_rate: float) -> dict[str, object]:
    """The one-line JSON report of a run; counts are of acknowledged events."""
    with tally.lock:
        return {
            "sent": tally.sent,
            "valid": tally.valid,
            "malformed": tally.malformed,
            "by_family": dict(sorted(tally.by_family.items())),
            "by_reason": dict(sorted(tally.by_reason.items())),
            "send_errors": tally.send_errors,
            "seconds": round(seconds, 3),
            "rate": round(tally.sent / seconds, 1) if seconds > 0 else 0.0,
            "target_rate": target_rate,
        }
