"""A detector configuration file (``CITYBRAIN_DETECTOR_CONFIG``): the knobs a backtest
compares, checked at start so a typo stops the worker instead of being ignored.

    alert_policy: {clear_after: 5, stale_ms: 3600000}   # detectors.alerting.engine.AlertPolicy
    monitor: {cool_after: 10}                            # low decisions after a high one
    neighbours: {quorum: 3, vote_floor: 0.5}   # detectors.scoring.neighbours.NeighbourGroup
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detectors.alerting.engine import AlertPolicy
from detectors.scoring.neighbours import NeighbourGroup


class ConfigError(ValueError):
    """The detector configuration cannot be used; the message says where and why."""


@dataclass(frozen=True)
class DetectorConfig:
    alert_policy: dict[str, Any] = field(default_factory=dict)
    monitor: dict[str, Any] = field(default_factory=dict)
    neighbours: dict[str, Any] = field(default_factory=dict)

    def policy(self) -> AlertPolicy:
        return AlertPolicy(**self.alert_policy)


_ALLOWED = {
    "alert_policy": {f.name for f in dataclasses.fields(AlertPolicy)},
    "monitor": {"cool_after"},
    "neighbours": set(inspect.signature(NeighbourGroup.__init__).parameters) - {"self"},
}


def parse(doc: object, origin: str = "detector config") -> DetectorConfig:
    """Check a loaded YAML document section by section, key by key."""
    if doc is None:
        return DetectorConfig()
    if not isinstance(doc, dict):
        raise ConfigError(f"{origin}: expected a mapping of sections, got {type(doc).__name__}")
    sections: dict[str, dict[str, Any]] = {}
    for name, body in doc.items():
        if name not in _ALLOWED:
            raise ConfigError(f"{origin}: unknown section {name!r} (known: {sorted(_ALLOWED)})")
        if not isinstance(body, dict):
            raise ConfigError(f"{origin}: section {name!r} must be a mapping")
        unknown = set(body) - _ALLOWED[name]
        if unknown:
            raise ConfigError(f"{origin}: {name}: unknown keys {sorted(unknown)} "
                              f"(known: {sorted(_ALLOWED[name])})")  # fmt: skip
        for key, value in body.items():
            if not isinstance(value, int | float | str) or isinstance(value, bool):
                raise ConfigError(f"{origin}: {name}.{key} must be a number or a word")
        sections[name] = dict(body)
    config = DetectorConfig(**sections)
    try:
        config.policy()
        NeighbourGroup(**config.neighbours)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    return config


def load(path: str) -> DetectorConfig:
    """The configuration in ``path`` ('' = defaults)."""
    if not path:
        return DetectorConfig()
    try:
        doc = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"detector config {path}: {exc}") from None
    return parse(doc, f"detector config {path}")
