"""Plane geometry on lon/lat rings: a jittered lattice, outer boundaries, areas.

The city is drawn on a lattice of points at grid-cell resolution. Every grid cell is the
quadrilateral of four neighbouring lattice points, so cells that share an edge share its
points exactly: cells tile the city with no gap or overlap, and the ring of any union of
cells (a street, a district, the city) is traced from the cells' edges.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable

from detectors.contract.city import Ring

Point = tuple[float, float]
Node = tuple[int, int]
"""A lattice point as (row, col); rows grow northwards, cols eastwards."""

CELL_KM = 0.4
KM_PER_DEG_LAT = 111.32
JITTER = 0.22
"""Largest shift of an interior lattice point, in cells: small enough that every cell
stays a convex quadrilateral."""


def lattice(
    rows: int, cols: int, centre: Point, seed: int, jitter: float = JITTER
) -> dict[Node, Point]:
    """Lon/lat of every lattice point of a rows x cols cell grid centred on ``centre``.

    Points inside the frame are shifted by a seeded jitter, so polygons are irregular
    while the frame stays a rectangle.
    """
    d_lat = CELL_KM / KM_PER_DEG_LAT
    d_lon = CELL_KM / (KM_PER_DEG_LAT * math.cos(math.radians(centre[1])))
    lon0 = centre[0] - cols * d_lon / 2
    lat0 = centre[1] - rows * d_lat / 2
    rng = random.Random(f"citybrain-lattice:{seed}")
    points: dict[Node, Point] = {}
    for row in range(rows + 1):
        for col in range(cols + 1):
            du = dv = 0.0
            if 0 < row < rows and 0 < col < cols:
                du, dv = rng.uniform(-jitter, jitter), rng.uniform(-jitter, jitter)
            points[(row, col)] = (
                round(lon0 + (col + du) * d_lon, 6),
                round(lat0 + (row + dv) * d_lat, 6),
            )
    return points


def cell_corners(row: int, col: int) -> tuple[Node, Node, Node, Node]:
    """The lattice points of a cell, counter-clockwise from its south-west corner."""
    return (row, col), (row, col + 1), (row + 1, col + 1), (row + 1, col)


def outer_ring(cells: Iterable[Node], points: dict[Node, Point]) -> Ring:
    """The closed ring around a union of cells, counter-clockwise.

    An edge is on the boundary when the neighbouring cell does not run it the other way.
    Raises ValueError when the union is not one piece without holes.
    """
    boundary = _boundary_edges(cells)
    if not boundary:
        raise ValueError("no cells")
    start = min(boundary)
    nodes = [start]
    node = boundary[start]
    while node != start:
        nodes.append(node)
        node = boundary[node]
    if len(nodes) != len(boundary):
        raise ValueError("cells do not form one simply connected region")
    return tuple(points[n] for n in nodes) + (points[start],)


def _boundary_edges(cells: Iterable[Node]) -> dict[Node, Node]:
    edges: set[tuple[Node, Node]] = set()
    for row, col in cells:
        corners = cell_corners(row, col)
        for k in range(4):
            edge = (corners[k], corners[(k + 1) % 4])
            if (edge[1], edge[0]) in edges:
                edges.remove((edge[1], edge[0]))
            else:
                edges.add(edge)
    boundary: dict[Node, Node] = {}
    for start, end in edges:
        if start in boundary:
            raise ValueError("cells touch only at a corner")
        boundary[start] = end
    return boundary


def signed_area(ring: Ring) -> float:
    """Shoelace area in square degrees; positive for a counter-clockwise ring.

    >>> signed_area(((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)))
    1.0
    """
    total = 0.0
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        total += x0 * y1 - x1 * y0
    return total / 2


def contains(ring: Ring, point: Point) -> bool:
    """Whether ``point`` lies inside the closed ``ring`` (even-odd rule).

    >>> contains(((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)), (0.5, 0.5))
    True
    """
    x, y = point
    inside = False
    for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False):
        if (y0 > y) != (y1 > y) and x < x0 + (y - y0) * (x1 - x0) / (y1 - y0):
            inside = not inside
    return inside


def point_in_quad(ring: Ring, u: float, v: float) -> Point:
    """The bilinear point (u, v in [0, 1]) of a cell's quadrilateral ring: inside it for a
    convex cell."""
    (x0, y0), (x1, y1), (x2, y2), (x3, y3) = ring[:4]
    w0, w1, w2, w3 = (1 - u) * (1 - v), u * (1 - v), u * v, (1 - u) * v
    return (
        round(w0 * x0 + w1 * x1 + w2 * x2 + w3 * x3, 6),
        round(w0 * y0 + w1 * y1 + w2 * y2 + w3 * y3, 6),
    )
