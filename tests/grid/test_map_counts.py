"""一张图's counts, level by level (county → township → village → grid → micro-grid): an area counts the
events recorded inside it and those recorded above it whose point lies inside its boundary, and its open
and overdue counts are exactly what the event list filtered to that area shows."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from grid import services
from grid.boundaries import set_boundary
from grid.event_lists import EventFilters, region_events
from grid.models import Event, EventCategory


def box(west: float, south: float, east: float, north: float) -> dict:
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def mapped(county, personas):
    """某县 112.0–112.4 × 34.0–34.4: 太平镇 the west half, 赵村镇 (河南村) the east half; in 太平镇 楼星村 the south
    half, 大楼村 the north; in 楼星村 第1网格 the west half, 第2网格 the east; in 第1网格 第1微网格 the south half,
    第2微网格 the north."""
    admin = personas["county_office"]
    county.micro2 = services.create_region(parent=county.grid1, name="第2微网格", tier=county.tier("microgrid"))
    for region, shape in ((county.county, box(112.0, 34.0, 112.4, 34.4)), (county.taiping, box(112.0, 34.0, 112.2, 34.4)),
                          (county.zhaocun, box(112.2, 34.0, 112.4, 34.4)), (county.henan, box(112.2, 34.0, 112.4, 34.4)),
                          (county.louxing, box(112.0, 34.0, 112.2, 34.2)), (county.dalou, box(112.0, 34.2, 112.2, 34.4)),
                          (county.grid1, box(112.0, 34.0, 112.1, 34.2)), (county.grid2, box(112.1, 34.0, 112.2, 34.2)),
                          (county.micro1, box(112.0, 34.0, 112.1, 34.1)), (county.micro2, box(112.0, 34.1, 112.1, 34.2))):
        set_boundary(region, shape, by=admin)
    category = EventCategory.objects.create(code="M01", name="垃圾堆放",
                                            parent=EventCategory.objects.create(code="M", name="环境卫生"))

    def event(key, region, at=None, **fields):
        lon, lat = at or (None, None)
        return Event.objects.create(
            reporter=personas["grid_member"], region=region, handling_region=region, category=category,
            title=f"事件{key}", description="x", occurred_at=timezone.now() - datetime.timedelta(hours=1),
            idempotency_key=key, longitude=lon, latitude=lat, **fields)

    passed = timezone.now() - datetime.timedelta(minutes=1)  # overdue, and no 督办 scan has run
    event("e1", county.micro1)
    event("e2", county.grid1, (112.05, 34.15), step_due_at=passed)  # on the grid, happened in 第2微网格
    event("e3", county.grid1, (112.05, 34.05))  # on the grid, happened in 第1微网格
    event("e4", county.grid1)  # on the grid, no point: in no micro-grid
    event("e5", county.grid1, (112.05, 34.05), status=Event.Status.CLOSED, step_due_at=passed)  # closed: counted nowhere
    event("e6", county.louxing, (112.15, 34.05), step_due_at=passed)  # on the village, happened in 第2网格
    event("e7", county.taiping, (112.10, 34.30))  # on the township, happened in 大楼村
    event("e8", county.county, (112.03, 34.03))  # on the county, happened in 第1微网格
    event("e9", county.grid2, (112.30, 34.30))  # recorded on 第2网格: its region decides, not a stray point
    event("e10", county.henan)
    return county


# (open, overdue) by area, worked out by hand from the fixture's events.
COUNTY_OFFICE_COUNTS = {
    "county": {"taiping": (8, 2), "zhaocun": (1, 0)},  # 太平镇: e1–e4, e6–e9
    "taiping": {"louxing": (7, 2), "dalou": (1, 0)},  # 大楼村: e7 by its point
    "louxing": {"grid1": (5, 1), "grid2": (2, 1)},  # 第2网格: e6 by its point, e9 by its region
    "grid1": {"micro1": (3, 0), "micro2": (1, 1)},  # e1, e3, e8 | e2; e4 counts toward neither
    "micro1": {"micro1": (3, 0)},
}


def map_counts(client, root) -> tuple[dict[str, tuple[int, int]], tuple[int, int], tuple[int, int]]:
    """The map page's counts by area name (from the areas' titles), its rest and its total."""
    response = client.get(reverse("grid:map"), {"region": root.pk})
    page = response.content.decode()
    areas = {name: (int(n), int(late)) for name, n, late in re.findall(r"<title>(\S+?)：未办结 (\d+) 件，其中超期 (\d+) 件</title>", page)}
    data = response.context["map"]
    return areas, data.rest, data.total


def listed(user, region) -> tuple[int, int]:
    """What the event list filtered to the area shows: its open events, and of them the overdue ones."""
    return (region_events(user, EventFilters(status="open", region=region.pk)).count(),
            region_events(user, EventFilters(status="open", region=region.pk, overdue=True)).count())


def test_every_level_counts_each_open_event_once_and_as_the_list_does(client, personas, mapped):
    user = personas["county_office"]
    client.force_login(user)
    for root_name, expected in COUNTY_OFFICE_COUNTS.items():
        areas, rest, total = map_counts(client, getattr(mapped, root_name))
        assert areas == {getattr(mapped, key).name: value for key, value in expected.items()}, root_name
        for key, value in expected.items():
            assert listed(user, getattr(mapped, key)) == value, key
        assert total == listed(user, getattr(mapped, root_name)), root_name
        assert total[0] == sum(n for n, _ in expected.values()) + rest[0], root_name
    assert map_counts(client, mapped.grid1)[1] == (1, 0)  # e4: on 第1网格 with no point, shown as its own row


def test_events_recorded_on_a_grid_count_toward_the_micro_grid_their_point_is_in(client, personas, mapped):
    client.force_login(personas["grid_leader"])  # 第1网格: e8 (on the county) is not theirs to see
    page = client.get(reverse("grid:map")).content.decode()
    assert "第1微网格：未办结 2 件，其中超期 0 件" in page and "第2微网格：未办结 1 件，其中超期 1 件" in page
    assert "直接记在第1网格、不在上述区域边界内的" in page  # e4
    listing = client.get(reverse("grid:events"), {"status": "open", "region": mapped.micro2.pk}).content.decode()
    assert "事件e2" in listing and "事件e3" not in listing and "事件e4" not in listing
    assert f'?status=open&amp;region={mapped.micro2.pk}"' in page  # the map's area row opens that list


def test_list_region_filter_keeps_to_the_users_own_events(client, personas, mapped):
    grid_leader = personas["grid_leader"]
    assert listed(grid_leader, mapped.micro1) == (2, 0)  # e1, e3; not e8 (recorded on the county)
    assert listed(grid_leader, mapped.henan) == (0, 0)  # another township's village: nothing of it
    assert listed(personas["county_office"], mapped.henan) == (1, 0)


def test_points_at_one_place_are_spread_so_each_can_be_clicked(client, personas, mapped):
    e3 = Event.objects.get(idempotency_key="e3")
    for key in ("e3a", "e3b"):  # two more reports from exactly e3's spot
        Event.objects.create(reporter=e3.reporter, region=e3.region, handling_region=e3.region, category=e3.category,
                             title=key, description="x", occurred_at=e3.occurred_at, idempotency_key=key,
                             longitude=e3.longitude, latitude=e3.latitude)
    client.force_login(personas["county_office"])
    page = client.get(reverse("grid:map"), {"region": mapped.micro1.pk}).content.decode()
    places = re.findall(r'data-event="\d+"><circle cx="([\d.]+)" cy="([\d.]+)"', page)
    assert len(places) == 4 and len(set(places)) == 4  # e3 and its two neighbours, e8; each its own dot


def test_many_events_at_one_spot_become_one_numbered_circle_that_opens_their_area(client, personas, mapped):
    e3 = Event.objects.get(idempotency_key="e3")
    for number in range(8):  # with e3, nine reports from one spot: too many to spread
        Event.objects.create(reporter=e3.reporter, region=e3.region, handling_region=e3.region, category=e3.category,
                             title=f"同一处{number}", description="x", occurred_at=e3.occurred_at,
                             idempotency_key=f"same-{number}", longitude=e3.longitude, latitude=e3.latitude)
    client.force_login(personas["grid_leader"])
    page = client.get(reverse("grid:map")).content.decode()  # 第1网格
    cluster = re.search(r'<a href="([^"]+)" class="gv-map__cluster">.*?<title>([^<]+)</title>.*?>(\d+)</text>', page)
    assert cluster and cluster[3] == "9" and "此处 9 件未办结事件" in cluster[2]
    assert cluster[1] == f"{reverse('grid:map')}?region={mapped.micro1.pk}"  # the micro-grid it lies in
    assert f'data-event="{e3.pk}"' not in page
