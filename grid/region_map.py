"""The map (一张图) of a user's area, drawn on the server as SVG from our own data: the boundaries of the
regions one tier below the area (Region.boundary), shaded by their open or overdue events, and the open
events with coordinates as points coloured by urgency and overdue state, each a link to its case. Works
without internet; no tiles, no map library. Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.html import escape

from .access import region_grants, scope
from .boundaries import BoundaryError, polygons_of
from .models import Event, Region

WIDTH, HEIGHT, PAD = 900, 640, 16
MAX_POINTS = 2000
# Point colours: overdue first, then urgency (the list's tags use the same meanings).
OVERDUE_COLOUR = "#c62828"
URGENCY_COLOURS = {Event.Urgency.NORMAL: "#1565c0", Event.Urgency.URGENT: "#ef6c00", Event.Urgency.CRITICAL: "#6a1b9a"}
SHADES = ["#f1f8e9", "#fff3e0", "#ffe0b2", "#ffcc80", "#ffab91", "#ef9a9a"]


@dataclass
class Area:
    region: Region
    open: int = 0
    overdue: int = 0
    polygons: list = field(default_factory=list)


@dataclass
class RegionMap:
    root: Region | None
    areas: list[Area]
    points: list[Event]
    unplaced: int  # open events without coordinates (listed, not drawn)
    svg: str = ""

    @property
    def has_shapes(self) -> bool:
        return any(area.polygons for area in self.areas) or bool(self.points)


def map_root(user, requested: int | None = None) -> Region | None:
    """The region whose map the user sees: the one asked for if it lies in their area, else their area's
    top (the first of their view_event regions)."""
    paths = [""] if user.is_superuser else region_grants(user).paths("grid.view_event")
    if not paths:
        return None
    regions = Region.objects.select_related("tier")
    if requested:
        region = regions.filter(pk=requested).first()
        if region is not None and any(region.path.startswith(path) for path in paths):
            return region
    if user.is_superuser:
        return regions.filter(depth=1).order_by("path").first()
    return regions.filter(path__in=paths).order_by("path").first()


def build_map(user, root: Region) -> RegionMap:
    """The areas under `root` with their counts and the open events to draw (scoped to what the user may see)."""
    children = list(Region.objects.filter(path__startswith=root.path, depth=root.depth + 1)
                    .select_related("tier").order_by("path"))
    areas = [Area(child) for child in children] or [Area(root)]
    events = scope(user, Event.objects.filter(status__in=Event.OPEN_STATUSES, region__path__startswith=root.path),
                   "grid.view_event")
    length = len(root.path) + Region.steplen
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for path, opened, overdue in (events.values("region__path").order_by()
                                  .annotate(n=Count("id"), late=Count("id", filter=Q(is_overdue=True)))
                                  .values_list("region__path", "n", "late")):
        key = path[:length] if children else root.path
        counts[key][0] += opened
        counts[key][1] += overdue
    for area in areas:
        area.open, area.overdue = counts.get(area.region.path, (0, 0))
        try:
            area.polygons = polygons_of(area.region.boundary) if area.region.boundary else []
        except BoundaryError:
            area.polygons = []
    points = list(events.filter(latitude__isnull=False, longitude__isnull=False)
                  .only("pk", "title", "latitude", "longitude", "urgency", "is_overdue")
                  .order_by("-created_at")[:MAX_POINTS])
    unplaced = events.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)).count()
    result = RegionMap(root, areas, points, unplaced)
    result.svg = render_svg(result)
    return result


def point_colour(event: Event) -> str:
    return OVERDUE_COLOUR if event.is_overdue else URGENCY_COLOURS.get(event.urgency, URGENCY_COLOURS["normal"])


def shade(area: Area, top: int) -> str:
    if not area.open:
        return SHADES[0]
    step = 1 + round((len(SHADES) - 2) * (area.open + 2 * area.overdue) / max(top, 1))
    return SHADES[min(step, len(SHADES) - 1)]


def render_svg(data: RegionMap) -> str:
    """The map as one SVG element (every text escaped): areas, their names and counts, then the points."""
    coords = [point for area in data.areas for polygon in area.polygons for ring in polygon for point in ring]
    coords += [(float(e.longitude), float(e.latitude)) for e in data.points]
    if not coords:
        return ""
    min_lon, max_lon = min(c[0] for c in coords), max(c[0] for c in coords)
    min_lat, max_lat = min(c[1] for c in coords), max(c[1] for c in coords)
    x_scale = math.cos(math.radians((min_lat + max_lat) / 2))  # keeps shapes from stretching east-west
    span_x = max((max_lon - min_lon) * x_scale, 1e-6)
    span_y = max(max_lat - min_lat, 1e-6)
    scale = min((WIDTH - 2 * PAD) / span_x, (HEIGHT - 2 * PAD) / span_y)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        return (PAD + (lon - min_lon) * x_scale * scale, HEIGHT - PAD - (lat - min_lat) * scale)

    top = max((area.open + 2 * area.overdue for area in data.areas), default=0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(data.root.name if data.root else "")}一张图" class="gv-map__svg">']
    for area in data.areas:
        if not area.polygons:
            continue
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (xy(*p) for p in ring)) + " Z"
                     for polygon in area.polygons for ring in polygon)
        label = f"{area.region.name}：未办结 {area.open} 件，其中超期 {area.overdue} 件"
        href = reverse("grid:map") + f"?region={area.region.pk}"
        parts.append(f'<a href="{href}" class="gv-map__area"><path d="{d}" fill="{shade(area, top)}" '
                     f'fill-rule="evenodd" stroke="#8d6e63" stroke-width="1"><title>{escape(label)}</title></path>')
        ring = area.polygons[0][0]
        cx = sum(p[0] for p in ring) / len(ring)
        cy = sum(p[1] for p in ring) / len(ring)
        x, y = xy(cx, cy)
        parts.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" font-size="13" fill="#4e342e">'
                     f'{escape(area.region.name)}{f" {area.open}" if area.open else ""}</text></a>')
    for event in data.points:
        x, y = xy(float(event.longitude), float(event.latitude))
        href = reverse("grid:event_detail", args=[event.pk])
        state = "超期" if event.is_overdue else event.get_urgency_display()
        parts.append(f'<a href="{href}" class="gv-map__point" data-event="{event.pk}"><circle cx="{x:.1f}" cy="{y:.1f}" '
                     f'r="7" fill="{point_colour(event)}" stroke="#fff" stroke-width="2">'
                     f'<title>{escape(f"#{event.pk} {event.title}（{state}）")}</title></circle></a>')
    parts.append("</svg>")
    return "".join(parts)
