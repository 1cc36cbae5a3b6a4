"""The map (一张图) of a user's area, drawn on the server as SVG from our own data: the boundaries of the
regions one tier below the area (Region.boundary), shaded by their open or overdue events, and the open
events with coordinates as points coloured by urgency and overdue state, each a link to its case. Which
events count toward an area is grid.areas' rule, the same as the event list's region filter. Works
without internet and without a map library; with a 天地图 key, tiles are laid under the SVG in the same
Web Mercator viewport (grid.map_tiles). Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field

from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from .access import region_grants, scope
from .areas import counts_by_area, in_area, located_in
from .boundaries import BoundaryError, polygons_of
from .map_tiles import TIANDITU_LAYERS, Viewport, fit, tianditu_url, tiles_for
from .models import Event, Region

WIDTH, HEIGHT, PAD = 900, 640, 16
MAX_POINTS = 2000
SPREAD_CELL = 14  # points closer than this (drawing units) are spread around their common place…
MAX_SPREAD = 8  # …up to this many; more become one numbered circle that opens the area below (or the list)
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
    total: tuple[int, int] = (0, 0)  # (open, overdue) in the root's area: the event list filtered to it
    rest: tuple[int, int] = (0, 0)  # of those, counted toward no area below (recorded above, outside them)
    svg: str = ""
    tiles: list[tuple[str, list[str]]] = field(default_factory=list)  # (style, tile addresses, bottom first)
    now: datetime.datetime = field(default_factory=timezone.now)  # the moment counts and colours are taken at

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


def build_map(user, root: Region, *, tile_key: str = "", now: datetime.datetime | None = None) -> RegionMap:
    """The areas under `root` with their counts and the open events to draw (scoped to what the user may
    see), overdue as at `now` (default: the clock); with `tile_key`, the 天地图 tiles under them."""
    now = now or timezone.now()
    children = list(Region.objects.filter(path__startswith=root.path, depth=root.depth + 1)
                    .select_related("tier").order_by("path"))
    areas = [Area(child) for child in children] or [Area(root)]
    events = in_area(scope(user, Event.objects.filter(status__in=Event.OPEN_STATUSES), "grid.view_event"), root)
    counts, rest = counts_by_area(events, [area.region for area in areas], now)
    for area in areas:
        area.open, area.overdue = counts[area.region.pk]
        try:
            area.polygons = polygons_of(area.region.boundary) if area.region.boundary else []
        except BoundaryError:
            area.polygons = []
    points = list(events.filter(latitude__isnull=False, longitude__isnull=False)
                  .only("pk", "title", "latitude", "longitude", "urgency", "status", "step_due_at")
                  .order_by("-created_at", "-id")[:MAX_POINTS])
    unplaced = events.filter(Q(latitude__isnull=True) | Q(longitude__isnull=True)).count()
    total = (sum(area.open for area in areas) + rest[0], sum(area.overdue for area in areas) + rest[1])
    result = RegionMap(root, areas, points, unplaced, total, rest, now=now)
    view = viewport(result)
    if view is not None:
        result.svg = render_svg(result, view)
        if tile_key:
            result.tiles = [(tile.style, [tianditu_url(tile, layer, tile_key) for layer in TIANDITU_LAYERS])
                            for tile in tiles_for(view)]
    return result


def point_colour(event: Event, now: datetime.datetime) -> str:
    return OVERDUE_COLOUR if event.overdue_at(now) else URGENCY_COLOURS.get(event.urgency, URGENCY_COLOURS["normal"])


def shade(area: Area, top: int) -> str:
    if not area.open:
        return SHADES[0]
    step = 1 + round((len(SHADES) - 2) * (area.open + 2 * area.overdue) / max(top, 1))
    return SHADES[min(step, len(SHADES) - 1)]


def viewport(data: RegionMap) -> Viewport | None:
    """The Web Mercator viewport that shows every area and point (None when there is nothing to draw)."""
    coords = [point[:2] for area in data.areas for polygon in area.polygons for ring in polygon for point in ring]
    coords += [(float(e.longitude), float(e.latitude)) for e in data.points]
    return fit(coords, WIDTH, HEIGHT, PAD) if coords else None


def label_anchor(ring, view: Viewport) -> tuple[float, float]:
    """Where an area's name goes: the centre of its outline's vertices, in drawing units."""
    xs, ys = zip(*(view.xy(p[0], p[1]) for p in ring[:-1] or ring), strict=True)
    return sum(xs) / len(xs), sum(ys) / len(ys)


def spread(points: list[Event], view: Viewport) -> list[tuple[float, float, list[Event]]]:
    """The points in drawing units, those that would cover each other grouped by the cell they fall in:
    (x, y, events) per group, newest events first, in the order the points were given."""
    groups: dict[tuple[int, int], tuple[float, float, list[Event]]] = {}
    for event in points:
        x, y = view.xy(float(event.longitude), float(event.latitude))
        key = (math.floor(x / SPREAD_CELL), math.floor(y / SPREAD_CELL))
        if key not in groups:
            groups[key] = (x, y, [])
        groups[key][2].append(event)
    return list(groups.values())


def spread_radius(group: list[Event]) -> float:
    """The radius of the ring a group's points are spread on (0 for a single point; 14 for a numbered circle)."""
    if len(group) == 1:
        return 0.0
    if len(group) > MAX_SPREAD:
        return 14.0
    # Neighbours on the ring stay apart even at a phone's larger dots (radius 13, see site.css).
    return max(16.0, 14 / math.sin(math.pi / len(group)))


def clear_of(anchor: tuple[float, float], groups: list[tuple[float, float, list[Event]]]) -> tuple[float, float]:
    """An area's label place moved above the points that would cover it (they stay where they happened)."""
    x, y = anchor
    for gx, gy, group in groups:
        reach = spread_radius(group) + 9  # a point's radius and its white edge
        if abs(gx - x) < 40 + reach and -reach - 4 < y - gy < reach + 14:
            y = gy - reach - 6
    return x, y


def _point(event: Event, x: float, y: float, now: datetime.datetime) -> str:
    href = reverse("grid:event_detail", args=[event.pk])
    state = "超期" if event.overdue_at(now) else event.get_urgency_display()
    return (f'<a href="{href}" class="gv-map__point" data-event="{event.pk}"><circle cx="{x:.1f}" cy="{y:.1f}" '
            f'r="7" fill="{point_colour(event, now)}" stroke="#fff" stroke-width="2">'
            f'<title>{escape(f"#{event.pk} {event.title}（{state}）")}</title></circle></a>')


def cluster_link(data: RegionMap, event: Event) -> str:
    """Where a numbered circle leads: the map of the area below that holds it, else the list of the root's
    open events."""
    lon, lat = float(event.longitude), float(event.latitude)
    for area in data.areas:
        if area.region != data.root and located_in(area.region, lon, lat):
            return reverse("grid:map") + f"?region={area.region.pk}"
    return reverse("grid:events") + f"?status=open&region={data.root.pk}"


def render_svg(data: RegionMap, view: Viewport) -> str:
    """The map as one SVG element (every text escaped): areas, their names and counts, then the points."""
    top = max((area.open + 2 * area.overdue for area in data.areas), default=0)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-label="{escape(data.root.name if data.root else "")}一张图" class="gv-map__svg">']
    groups = spread(data.points, view)
    labels = []
    for area in data.areas:
        if not area.polygons:
            continue
        d = " ".join("M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in (view.xy(p[0], p[1]) for p in ring)) + " Z"
                     for polygon in area.polygons for ring in polygon)
        label = f"{area.region.name}：未办结 {area.open} 件，其中超期 {area.overdue} 件"
        href = reverse("grid:map") + f"?region={area.region.pk}"
        parts.append(f'<a href="{href}" class="gv-map__area" data-region="{area.region.pk}"><path d="{d}" '
                     f'fill="{shade(area, top)}" fill-rule="evenodd" stroke="#8d6e63" stroke-width="1">'
                     f'<title>{escape(label)}</title></path></a>')
        x, y = clear_of(label_anchor(area.polygons[0][0], view), groups)
        labels.append(f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="middle" class="gv-map__label">'
                      f'{escape(area.region.name)}{f" {area.open}" if area.open else ""}</text>')
    # Names above every shape (a neighbour drawn later must not hide the end of one), under the points.
    parts += labels
    for x, y, group in groups:
        if len(group) == 1:
            parts.append(_point(group[0], x, y, data.now))
        elif len(group) <= MAX_SPREAD:
            radius = spread_radius(group)
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{radius:.1f}" class="gv-map__spread"/>')
            for index, event in enumerate(group):
                angle = 2 * math.pi * index / len(group) - math.pi / 2
                parts.append(_point(event, x + radius * math.cos(angle), y + radius * math.sin(angle), data.now))
        else:
            late = sum(1 for event in group if event.overdue_at(data.now))
            title = f"此处 {len(group)} 件未办结事件" + (f"，其中超期 {late} 件" if late else "") + "，点击查看"
            parts.append(f'<a href="{cluster_link(data, group[0])}" class="gv-map__cluster"><circle cx="{x:.1f}" cy="{y:.1f}" r="14" '
                         f'fill="{OVERDUE_COLOUR if late else URGENCY_COLOURS["normal"]}" stroke="#fff" stroke-width="2">'
                         f'<title>{escape(title)}</title></circle><text x="{x:.1f}" y="{y + 4:.1f}" '
                         f'text-anchor="middle">{len(group)}</text></a>')
    parts.append("</svg>")
    return "".join(parts)
