"""一张图: the user's area drawn from region boundaries, open events as points linking to their case,
areas shaded by open and overdue counts; scoped to what the user may see."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from grid import region_map
from grid.boundaries import set_boundary
from grid.models import Event, EventCategory


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    ring = [[lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture
def mapped(county, personas):
    admin = personas["county_office"]
    set_boundary(county.louxing, square(112.60, 34.10), by=admin)
    set_boundary(county.dalou, square(112.62, 34.10), by=admin)
    set_boundary(county.henan, square(112.70, 34.20), by=admin)
    category = EventCategory.objects.create(code="M01", name="垃圾堆放",
                                            parent=EventCategory.objects.create(code="M", name="环境卫生"))

    def event(region, title, **fields):
        return Event.objects.create(
            reporter=personas["grid_member"], region=region, handling_region=region, category=category, title=title,
            description="x", occurred_at=timezone.now() - datetime.timedelta(hours=1), idempotency_key=title, **fields)

    return {
        "overdue": event(county.grid1, "超期的垃圾", latitude="34.105", longitude="112.605",
                         step_due_at=timezone.now() - datetime.timedelta(minutes=1)),  # no scan has run
        "urgent": event(county.dalou, "紧急的垃圾", latitude="34.105", longitude="112.625", urgency="urgent",
                        step_due_at=timezone.now() + datetime.timedelta(hours=2)),
        "closed": event(county.grid1, "已办结的", latitude="34.106", longitude="112.606", status=Event.Status.CLOSED),
        "no_place": event(county.grid1, "没有经纬度的"),
        "elsewhere": event(county.henan, "别镇的事件", latitude="34.205", longitude="112.705"),
    }


def test_township_map_draws_its_villages_and_open_events(client, county, personas, mapped):
    client.force_login(personas["township_committee"])
    response = client.get(reverse("grid:map"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "一张图 · 太平镇" in page and "<svg" in page
    assert "楼星村：未办结 2 件，其中超期 1 件" in page and "大楼村：未办结 1 件，其中超期 0 件" in page
    for key in ("overdue", "urgent"):
        assert f'href="{reverse("grid:event_detail", args=[mapped[key].pk])}"' in page  # click through to the case
    assert f'data-event="{mapped["closed"].pk}"' not in page  # only open events
    assert "别镇的事件" not in page and "河南村" not in page  # another township: not theirs
    assert "另有 1 件未办结事件没有经纬度" in page
    assert region_map.OVERDUE_COLOUR in page and region_map.URGENCY_COLOURS["urgent"] in page


def test_map_narrows_to_an_area_of_mine_but_not_to_anothers(client, county, personas, mapped):
    client.force_login(personas["township_committee"])
    page = client.get(reverse("grid:map"), {"region": county.louxing.pk}).content.decode()
    assert "一张图 · 楼星村" in page and "紧急的垃圾" not in page and "超期的垃圾" in page
    page = client.get(reverse("grid:map"), {"region": county.henan.pk}).content.decode()
    assert "一张图 · 太平镇" in page and "别镇的事件" not in page  # outside their area: back to their own


def test_map_is_refused_to_users_without_events(client, personas, mapped):
    client.force_login(personas["inspection_group"])
    assert client.get(reverse("grid:map")).status_code == 403
    client.force_login(personas["outsider"])
    assert client.get(reverse("grid:map")).status_code == 403


def test_map_without_boundaries_says_so(client, county, personas):
    client.force_login(personas["grid_member"])
    page = client.get(reverse("grid:map")).content.decode()
    assert "还没有边界" in page
