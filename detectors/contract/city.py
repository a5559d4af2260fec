"""The city model: a hierarchy of areas (city -> district -> street -> grid cell) with
their own lon/lat geometry, so a map can be drawn with no tile server."""

from __future__ import annotations

from dataclasses import dataclass

Ring = tuple[tuple[float, float], ...]
"""A closed polygon ring of (lon, lat) points; the first point is repeated at the end."""


@dataclass(frozen=True, slots=True)
class Area:
    """One area of the hierarchy. ``parent`` is the code of the enclosing area ('' for the
    city)."""

    level: str
    code: str
    parent: str
    name: str
    name_zh: str
    ring: Ring

    @property
    def centroid(self) -> tuple[float, float]:
        """The mean of the ring's vertices: good enough to place a label."""
        points = self.ring[:-1] or self.ring
        lon = sum(p[0] for p in points) / len(points)
        lat = sum(p[1] for p in points) / len(points)
        return lon, lat
