"""Optional region boundaries (GeoJSON polygons, WGS-84) and "which region contains this point".
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction

from governance import audit

from .models import Region

Point = tuple[float, float]  # (longitude, latitude)
MAX_VERTICES = 20_000


class BoundaryError(ValidationError):
    """A boundary that is not a valid GeoJSON polygon; the message is in Chinese."""


def _ring(raw, where: str) -> list[Point]:
    if not isinstance(raw, list) or len(raw) < 4:
        raise BoundaryError(f"{where}：每个环至少 4 个点（首尾相同）。")
    ring = []
    for point in raw:
        if (not isinstance(point, list | tuple) or len(point) < 2
                or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in point[:2])):
            raise BoundaryError(f"{where}：坐标须为 [经度, 纬度] 数字对。")
        lon, lat = float(point[0]), float(point[1])
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise BoundaryError(f"{where}：坐标 [{lon}, {lat}] 超出经纬度范围。")
        ring.append((lon, lat))
    if ring[0] != ring[-1]:
        raise BoundaryError(f"{where}：环的首尾坐标须相同。")
    return ring


def polygons_of(geometry) -> list[list[list[Point]]]:
    """The polygons (each a list of rings) of a GeoJSON Polygon / MultiPolygon; BoundaryError if invalid."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        raise BoundaryError("边界须为 GeoJSON 的 Polygon 或 MultiPolygon 对象。")
    coordinates = geometry.get("coordinates")
    raw_polygons = [coordinates] if geometry["type"] == "Polygon" else coordinates
    if not isinstance(raw_polygons, list) or not raw_polygons:
        raise BoundaryError("边界缺少坐标。")
    polygons = []
    for index, raw in enumerate(raw_polygons, start=1):
        if not isinstance(raw, list) or not raw:
            raise BoundaryError(f"第 {index} 个多边形缺少坐标。")
        polygons.append([_ring(ring, f"第 {index} 个多边形") for ring in raw])
    if sum(len(ring) for polygon in polygons for ring in polygon) > MAX_VERTICES:
        raise BoundaryError(f"边界的点数不能超过 {MAX_VERTICES} 个。")
    return polygons


def _in_ring(point: Point, ring: list[Point]) -> bool:
    x, y = point
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]  # stored points may carry an altitude
        xj, yj = ring[j][0], ring[j][1]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def bounding_box(polygons: list[list[list[Point]]]) -> tuple[float, float, float, float]:
    """(west, east, south, north) of the outlines of validated polygons."""
    xs = [p[0] for outline, *_ in polygons for p in outline]
    ys = [p[1] for outline, *_ in polygons for p in outline]
    return min(xs), max(xs), min(ys), max(ys)


def _in_box(point: Point, ring: list[Point]) -> bool:
    xs = [p[0] for p in ring]
    ys = [p[1] for p in ring]
    return min(xs) <= point[0] <= max(xs) and min(ys) <= point[1] <= max(ys)


def contains_stored(geometry: dict, point: Point) -> bool:
    """`contains` for a boundary validated when it was saved: the rings are read as they are stored."""
    raw_polygons = [geometry["coordinates"]] if geometry["type"] == "Polygon" else geometry["coordinates"]
    for outline, *holes in raw_polygons:
        if _in_ring(point, outline) and not any(_in_ring(point, hole) for hole in holes):
            return True
    return False


def contains(geometry, point: Point) -> bool:
    """Whether the GeoJSON polygon(s) contain the point (inside the outline and outside every hole)."""
    try:
        polygons = polygons_of(geometry)
    except BoundaryError:
        return False
    for outline, *holes in polygons:
        if _in_box(point, outline) and _in_ring(point, outline) and not any(_in_ring(point, hole) for hole in holes):
            return True
    return False


def region_at(jurisdiction: Region, longitude: Decimal | float, latitude: Decimal | float,
              tiers: tuple[str, ...] = ("microgrid", "grid")) -> Region | None:
    """The deepest region of the given tiers under `jurisdiction` whose boundary contains the point.

    The database keeps only the regions whose stored bounding box holds the point; their polygons were
    validated when saved (set_boundary), so only those few are tested, as stored."""
    point = (float(longitude), float(latitude))
    lon, lat = point
    candidates = (
        Region.objects.filter(path__startswith=jurisdiction.path, tier__key__in=tiers, boundary__isnull=False,
                              boundary_west__lte=lon, boundary_east__gte=lon,
                              boundary_south__lte=lat, boundary_north__gte=lat)
        .select_related("tier").order_by("-depth", "path")
    )
    for region in candidates:
        if contains_stored(region.boundary, point):
            return region
    return None


def box_fields(geometry) -> dict[str, float | None]:
    """The stored bounding-box fields of a boundary (all None without one); BoundaryError if invalid."""
    if geometry is None:
        return {"boundary_west": None, "boundary_east": None, "boundary_south": None, "boundary_north": None}
    west, east, south, north = bounding_box(polygons_of(geometry))
    return {"boundary_west": west, "boundary_east": east, "boundary_south": south, "boundary_north": north}


def set_boundary(region: Region, geometry, *, by) -> Region:
    """Set (or clear, with None) a region's boundary; validated once here, with its bounding box stored."""
    box = box_fields(geometry)
    with transaction.atomic():
        region = Region.objects.select_for_update().get(pk=region.pk)
        before = {"boundary": bool(region.boundary)}
        region.boundary = geometry
        for name, value in box.items():
            setattr(region, name, value)
        region.save(update_fields=["boundary", *box])
        vertices = sum(len(ring) for polygon in polygons_of(geometry) for ring in polygon) if geometry else 0
        audit.record("region.boundary", actor=by, obj=region, before=before,
                     after={"boundary": geometry is not None, "vertices": vertices})
    return region
