"""Made-up but plausible boundaries for every township, village, grid and micro-grid of the demo county.

Each region is a quadrilateral; a region's children tile it exactly, in rows whose dividing lines are
slightly skewed, so siblings never overlap and every child lies inside its parent. The layout is
computed from the names alone (a seeded random per region), so a re-run gives the same polygons, and
it is placed so that the demo events' position (楼星村 第1网格) lies inside 楼星村/第1网格/第1微网格.
"""

from __future__ import annotations

import math
import random

from grid.models import Region, parent_path

Point = tuple[float, float]
Quad = tuple[Point, Point, Point, Point]  # bottom-left, bottom-right, top-right, top-left

# The county's outline before it is moved into place: about 60 × 45 km.
COUNTY_WIDTH = 0.64
COUNTY_HEIGHT = 0.42
JITTER = 0.18  # how far a dividing line may lean, as a share of the row or column it bounds
DIGITS = 6


def _lerp(a: Point, b: Point, t: float) -> Point:
    return (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t)


def _cuts(count: int, rng: random.Random) -> list[float]:
    """0, …, 1 in `count` steps, the inner ones moved a little."""
    return [0.0] + [(k + rng.uniform(-JITTER, JITTER)) / count for k in range(1, count)] + [1.0]


def subdivide(quad: Quad, count: int, rng: random.Random) -> list[Quad]:
    """`count` quadrilaterals that tile `quad`: rows from bottom to top, each cut into columns."""
    rows = max(1, round(math.sqrt(count)))
    per_row = [count // rows + (1 if r < count % rows else 0) for r in range(rows)]
    bottom_left, bottom_right, top_right, top_left = quad
    left, right = _cuts(rows, rng), _cuts(rows, rng)
    lines = [(_lerp(bottom_left, top_left, left[k]), _lerp(bottom_right, top_right, right[k])) for k in range(rows + 1)]
    cells: list[Quad] = []
    for row, columns in enumerate(per_row):
        (low_a, low_b), (high_a, high_b) = lines[row], lines[row + 1]
        low, high = _cuts(columns, rng), _cuts(columns, rng)
        for c in range(columns):
            cells.append((_lerp(low_a, low_b, low[c]), _lerp(low_a, low_b, low[c + 1]),
                          _lerp(high_a, high_b, high[c + 1]), _lerp(high_a, high_b, high[c])))
    return cells


def centroid(quad: Quad) -> Point:
    return (sum(p[0] for p in quad) / 4, sum(p[1] for p in quad) / 4)


def layout(county: Region) -> dict[str, Quad]:
    """full_path → quadrilateral for the county and every region below it (children in path order)."""
    regions = list(Region.objects.filter(path__startswith=county.path).order_by("path").only("path", "depth", "full_path"))
    children: dict[str, list[Region]] = {}
    for region in regions:
        if region.depth > county.depth:
            children.setdefault(parent_path(region.path), []).append(region)
    quads: dict[str, Quad] = {county.full_path: ((0.0, 0.0), (COUNTY_WIDTH, 0.0), (COUNTY_WIDTH, COUNTY_HEIGHT),
                                                  (0.0, COUNTY_HEIGHT))}
    for region in regions:  # parents come before their children in path order
        kids = children.get(region.path, [])
        if kids:
            rng = random.Random(region.full_path)
            for kid, quad in zip(kids, subdivide(quads[region.full_path], len(kids), rng), strict=True):
                quads[kid.full_path] = quad
    return quads


def placed(quads: dict[str, Quad], anchor_path: str, anchor: Point) -> dict[str, Quad]:
    """The layout moved so that the centre of `anchor_path`'s quadrilateral is `anchor` (lon, lat)."""
    centre = centroid(quads[anchor_path])
    dx, dy = anchor[0] - centre[0], anchor[1] - centre[1]
    return {path: tuple((p[0] + dx, p[1] + dy) for p in quad) for path, quad in quads.items()}


def geometry(quad: Quad) -> dict:
    ring = [[round(x, DIGITS), round(y, DIGITS)] for x, y in quad]
    return {"type": "Polygon", "coordinates": [ring + [ring[0]]]}


def demo_boundaries(county: Region, anchor_path: str, anchor: Point) -> dict[str, dict]:
    """full_path → GeoJSON Polygon for every region below the county (the county's own outline too)."""
    quads = placed(layout(county), anchor_path, anchor)
    return {path: geometry(quad) for path, quad in quads.items()}


