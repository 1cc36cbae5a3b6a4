"""Which events count toward an area: a region on the map (一张图) or the region chosen in the event list.

One rule for both, so that an area's open and overdue counts on the map are the rows the event list shows
when filtered to that area:
- an event counts toward the area that holds the region it was recorded on (the area's subtree);
- an event recorded above the area (on its grid, village, township…) counts toward it when the event's
  point lies inside the area's boundary: a grid member reports on their grid, the point says which
  micro-grid it happened in.
Design notes: docs/architecture/grid.md."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Count, Q, QuerySet

from .boundaries import contains_stored
from .models import Event, Region, overdue_q, paths_from_root


def located_in(region: Region, longitude: Decimal | float | None, latitude: Decimal | float | None) -> bool:
    """Whether the point lies inside the region's boundary (False without a boundary or a point)."""
    if region.boundary is None or longitude is None or latitude is None or region.boundary_west is None:
        return False
    lon, lat = float(longitude), float(latitude)
    if not (region.boundary_west <= lon <= region.boundary_east and region.boundary_south <= lat <= region.boundary_north):
        return False
    return contains_stored(region.boundary, (lon, lat))


def in_area(events: QuerySet[Event], region: Region) -> QuerySet[Event]:
    """`events` narrowed to those that count toward `region` (see the module's rule).

    The events recorded above the region are few and are read with the region's bounding box in SQL,
    then tested against its polygon here; the rest is one subtree condition."""
    condition = Q(region__path__startswith=region.path)
    above = paths_from_root(region.path)[:-1]
    if above and region.boundary is not None and region.boundary_west is not None:
        candidates = events.filter(
            region__path__in=above,
            longitude__gte=region.boundary_west, longitude__lte=region.boundary_east,
            latitude__gte=region.boundary_south, latitude__lte=region.boundary_north,
        ).values_list("pk", "longitude", "latitude")
        located = [pk for pk, lon, lat in candidates if located_in(region, lon, lat)]
        if located:
            condition |= Q(pk__in=located)
    return events.filter(condition)


def area_of(path: str, longitude, latitude, areas: Iterable[Region]) -> Region | None:
    """Which of `areas` (siblings) an event recorded on the region at `path` counts toward, if any."""
    areas = list(areas)
    for area in areas:
        if path.startswith(area.path):
            return area
    for area in areas:
        if area.path.startswith(path) and located_in(area, longitude, latitude):
            return area
    return None


def counts_by_area(events: QuerySet[Event], areas: list[Region], now: datetime.datetime
                   ) -> tuple[dict[int, tuple[int, int]], tuple[int, int]]:
    """(open, overdue at `now`) counts of `events` (already narrowed to the areas' parent) per area, by
    area_of, and what counts toward none of them (recorded on the parent or above, outside every child's
    boundary).

    Events recorded inside an area are counted in SQL by region; only those recorded above the areas
    are read one by one to place their points."""
    counts = {area.pk: [0, 0] for area in areas}
    rest = [0, 0]
    depth = min((area.depth for area in areas), default=1)
    cut = depth * Region.steplen  # an event's region path cut to the areas' depth names its area
    by_path = {area.path: area for area in areas}
    grouped = (events.values("region__path").order_by()
               .annotate(n=Count("id"), late=Count("id", filter=overdue_q(now)))
               .values_list("region__path", "n", "late"))
    above = []
    for path, opened, overdue in grouped:
        if len(path) < cut:
            above.append(path)
            continue
        area = by_path.get(path[:cut])
        target = counts[area.pk] if area is not None else rest
        target[0] += opened
        target[1] += overdue
    if above:
        rows = events.filter(region__path__in=above).select_related("region").only(
            "region__path", "longitude", "latitude", "status", "step_due_at")
        for event in rows:
            area = area_of(event.region.path, event.longitude, event.latitude, areas)
            target = counts[area.pk] if area is not None else rest
            target[0] += 1
            target[1] += int(event.overdue_at(now))
    return {pk: (n, late) for pk, (n, late) in counts.items()}, (rest[0], rest[1])
