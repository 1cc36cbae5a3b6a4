"""The demo county has a boundary for every region: children tile their parent without overlapping, and
the Open311 example of docs/api.md reports an event in 楼星村 that reaches the grid leader's tasks."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from rest_framework.test import APIClient

from api import credentials
from config.demo import DEMO_COUNTY, DEMO_EVENT_POSITION, GRID1_PATH, load_demo
from grid import boundaries
from grid.event_lists import my_tasks
from grid.models import Event, Region

from .test_map_tiles import DEMO_EAST, DEMO_NORTH, DEMO_SOUTH, DEMO_WEST

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    return load_demo()


def test_every_region_of_the_demo_county_has_a_boundary_with_its_box(demo):
    regions = Region.objects.filter(full_path__startswith=DEMO_COUNTY)
    assert regions.count() > 100 and not regions.filter(boundary__isnull=True).exists()
    for region in regions:
        assert boundaries.box_fields(region.boundary) == {
            "boundary_west": region.boundary_west, "boundary_east": region.boundary_east,
            "boundary_south": region.boundary_south, "boundary_north": region.boundary_north}
    county = regions.get(depth=1)  # the outline whose 天地图 tiles tests/grid/test_map_tiles.py works out by hand
    assert (county.boundary_west, county.boundary_east, county.boundary_south, county.boundary_north) == (
        DEMO_WEST, DEMO_EAST, DEMO_SOUTH, DEMO_NORTH)


def test_children_tile_their_parent_without_overlapping(demo):
    rng = random.Random(7)
    regions = list(Region.objects.filter(full_path__startswith=DEMO_COUNTY).order_by("path"))
    children: dict[str, list[Region]] = {}
    for region in regions:
        if region.depth > 1:
            children.setdefault(region.path[:-Region.steplen], []).append(region)
    checked = 0
    for parent in regions:
        kids = children.get(parent.path)
        if not kids:
            continue
        for _ in range(60):
            point = (rng.uniform(parent.boundary_west, parent.boundary_east),
                     rng.uniform(parent.boundary_south, parent.boundary_north))
            holders = [kid.name for kid in kids if boundaries.contains(kid.boundary, point)]
            inside = boundaries.contains(parent.boundary, point)
            assert len(holders) == (1 if inside else 0), (parent.full_path, point, holders)
            checked += inside
    assert checked > 600  # 13 parents: the county, 8 townships, 楼星村 and its 3 grids


def test_demo_event_position_is_in_the_first_micro_grid_of_louxing(demo):
    county = Region.objects.get(full_path=DEMO_COUNTY)
    found = boundaries.region_at(county, *DEMO_EVENT_POSITION)
    assert found.full_path == f"{GRID1_PATH}/第1微网格"
    assert boundaries.region_at(county, *DEMO_EVENT_POSITION, tiers=("township",)).name == "太平镇"
    assert boundaries.region_at(county, 0, 0, tiers=("township",)) is None


def test_api_docs_open311_example_reports_an_event_for_the_grid_leader(demo):
    county = Region.objects.get(full_path=DEMO_COUNTY)
    _, key = credentials.create_open311_client(by=None, name="12345热线", jurisdiction=county)
    longitude, latitude = DEMO_EVENT_POSITION
    response = APIClient().post(reverse("open311:requests", kwargs={"fmt": "json"}), {
        "api_key": key, "service_code": "AW01", "lat": str(latitude), "long": str(longitude),
        "description": "路口有人聚集滋事", "jurisdiction_id": "MX"})
    assert response.status_code == 201, response.content
    assert response.json()[0]["service_notice"] == "已受理，由太平镇/楼星村/第1网格处置。"
    event = Event.objects.get(pk=int(response.json()[0]["service_request_id"]))
    assert event.region.full_path.startswith(f"{GRID1_PATH}/")
    leader = get_user_model().objects.get(username="wanggezhang")
    assert event in my_tasks(leader)


def test_reloading_the_demo_keeps_the_boundaries(demo):
    before = dict(Region.objects.filter(full_path__startswith=DEMO_COUNTY).values_list("pk", "boundary"))
    again = load_demo()
    assert again.boundaries == 0 and not again.changed
    assert dict(Region.objects.filter(full_path__startswith=DEMO_COUNTY).values_list("pk", "boundary")) == before
